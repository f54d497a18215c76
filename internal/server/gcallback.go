package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// GoogleCallbackNonceRetention is how long the nonces of Google callbacks
// are kept to recognise a redelivery. Google signs a callback for a short
// while (its expTimeMillis), after which a replay is refused as expired, so
// a month is a wide margin.
const GoogleCallbackNonceRetention = 30 * 24 * time.Hour

// googleCallbacks receives Google's save and delete callbacks
// (POST /google/callbacks, the classes' callbackOptions.url) and records
// whether each member's card is in Google Wallet.
//
// TODO(outbox): a recorded save or delete also becomes the webhook event
// card.installed or card.removed (wallet "google") once the outbox exists.
type googleCallbacks struct {
	verifier *googlewallet.CallbackVerifier
	store    *store.Store
	issuerID string
	log      *slog.Logger
}

// ServeHTTP verifies the callback and records it. A callback that is not
// Google's, altered or expired is 401 and changes nothing; a redelivered
// nonce, and an object of no live member, are 200 and change nothing.
// When Google's keys cannot be fetched the answer is a 500, so that
// Google delivers again later.
func (g *googleCallbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, googlewallet.MaxCallbackSize))
	if err != nil {
		problem.Write(w, r, g.log, err)
		return
	}
	cb, err := g.verifier.Verify(ctx, body)
	switch {
	case errors.Is(err, googlewallet.ErrCallbackInvalid):
		g.log.LogAttrs(ctx, slog.LevelInfo, "google callback refused",
			slog.String("request_id", problem.RequestID(r)), slog.String("err", err.Error()))
		problem.Write(w, r, g.log, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized,
			"not a valid Google Wallet callback: "+err.Error()))
		return
	case err != nil:
		problem.Write(w, r, g.log, err)
		return
	}
	memberID := strings.TrimPrefix(cb.ObjectID, g.issuerID+".")
	out, err := g.store.RecordGoogleCallback(ctx, store.GoogleCallback{
		Nonce: cb.Nonce, MemberID: memberID, Installed: cb.EventType == googlewallet.EventSave,
	})
	if err != nil {
		problem.Write(w, r, g.log, err)
		return
	}
	// The member id is passd's own opaque id, not personal data.
	g.log.LogAttrs(ctx, slog.LevelInfo, "google callback",
		slog.String("event_type", cb.EventType), slog.String("member_id", memberID),
		slog.String("outcome", out.String()))
	w.WriteHeader(http.StatusOK)
}
