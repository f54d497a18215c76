// Package surface holds what every HTTP surface of passd that shows a
// member needs: the store, the programme catalog, the barcode secret, the
// link signer, the logger, the clock, Google Wallet's save link and the
// on-change hook.
//
// It sits between internal/server, which builds one Deps and hands it to
// every surface, and the surfaces themselves (the JSON API in
// internal/api, the public pages in internal/web), which embed it in their
// Config and Server. It imports only the packages those dependencies come
// from, never a surface.
package surface

import (
	"errors"
	"log/slog"
	"time"

	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// Deps are a surface's shared dependencies.
type Deps struct {
	Store    *store.Store
	Programs *loyalty.Catalog
	// Secret keys barcode MACs (and, on the pages, form tokens).
	Secret []byte
	// Links signs member links and makes absolute URLs under the public
	// URL (the QR codes a phone scans).
	Links *links.Signer
	// Logger is where the surface logs; discarded when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// GoogleSaveURL answers a member's "Add to Google Wallet" link; nil
	// when Google Wallet is off (the pages then show no Google button).
	GoogleSaveURL func(memberID string) (string, error)
	// OnChange, when set, is called after a change that made cards dirty
	// (an enrolment, a post), so the sync engine looks at once instead of
	// at its next poll.
	OnChange func()
	// ClientAddr finds the client address behind a request, for the
	// abuse limits; nil trusts no proxy (the peer's address).
	ClientAddr *clientaddr.Resolver
}

// Complete answers d ready for use by the surface called name: an error
// when the store, the catalog, the link signer or the secret is missing;
// otherwise d with a discarding Logger, time.Now and a no-op OnChange
// where those were left unset. GoogleSaveURL stays nil when unset: nil
// means Google Wallet is off.
func Complete(name string, d Deps) (Deps, error) {
	if d.Store == nil || d.Programs == nil || d.Links == nil || len(d.Secret) == 0 {
		return Deps{}, errors.New(name + ": store, programs, links and secret are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.OnChange == nil {
		d.OnChange = func() {}
	}
	return d, nil
}
