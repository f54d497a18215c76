package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/cardsync"
	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/memo"
)

// googleChannel is passd's Google Wallet side: the sync engine's google
// channel and the members' save links. It is nil when Google is off.
type googleChannel struct {
	Deliverer cardsync.Deliverer
	Classes   *cardsync.Google
	SaveURL   func(memberID string) (string, error)
	// Callbacks receives Google's save and delete callbacks.
	Callbacks http.Handler
	Close     func()
}

// Google Wallet client settings. The client's own retries stay short so a
// delivery fits the engine's delivery timeout; the engine backs off longer.
const (
	googleHTTPTimeout   = 30 * time.Second
	googleMaxAttempts   = 3
	googleMaxBackoff    = 5 * time.Second
	googleStartupBudget = 15 * time.Second
	googleMaxIdleConns  = 32
	// maxCachedSaveURLBytes bounds the signed save links kept: about
	// 7,000 of them at 1 KiB each. A member's link is signed (RSA with the
	// service account's key) when the cache has lost it, so a shop whose
	// tills serve more members than that between two visits of each pays
	// a signature per answer: raise it with memory to spare.
	maxCachedSaveURLBytes = 8 << 20
)

// GoogleRequestsPerSecond is the pace of passd's calls to Google Wallet's
// API, under Google's quota of about 20 a second (docs/google-wallet.md):
// a burst of card changes waits its turn, and changes to the same card
// meanwhile coalesce into one patch.
const GoogleRequestsPerSecond = 18

// newGoogle sets Google Wallet up: nil when PASSD_GOOGLE_ISSUER_ID is empty
// (one log line says so and nothing else changes). Otherwise it reads the
// service-account key, builds the client and upserts every program's
// loyalty class, giving up on that after googleStartupBudget: when Google
// is unreachable passd starts anyway and the first delivery of a card
// upserts its class.
func newGoogle(ctx context.Context, cfg config.Config, s *Server, log *slog.Logger) (*googleChannel, error) {
	if !cfg.GoogleEnabled() {
		log.Info("Google Wallet is off (PASSD_GOOGLE_ISSUER_ID is empty): no save links, no Google sync")
		return nil, nil
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Scheme != "https" || pub.Host == "" {
		return nil, &config.Error{Var: "PASSD_PUBLIC_URL", Msg: fmt.Sprintf(
			"%q must be an https URL when Google Wallet is on: Google fetches the program logos from it", cfg.PublicURL)}
	}
	origin := pub.Scheme + "://" + pub.Host
	gcfg, _, err := googlewallet.ConfigFromEnvValues(cfg.GoogleIssuerID, cfg.GoogleCredentials, cfg.GoogleAPIURL)
	if err != nil {
		return nil, err
	}
	hc := s.opts.GoogleHTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// The sync engine calls Google from several workers at once: keep
		// a connection for each (net/http keeps 2 by default and would
		// close and re-handshake the rest under load; HTTP/2, which Google
		// speaks, multiplexes on one anyway).
		tr.MaxIdleConnsPerHost = googleMaxIdleConns
		hc = &http.Client{Timeout: googleHTTPTimeout, Transport: tr}
	}
	gcfg.HTTPClient = hc
	gcfg.Logger = log
	gcfg.Now = s.now
	gcfg.MaxAttempts = googleMaxAttempts
	gcfg.MaxBackoff = googleMaxBackoff
	switch rps := s.opts.GoogleRequestsPerSecond; {
	case rps == 0:
		gcfg.RequestsPerSecond = GoogleRequestsPerSecond
	case rps > 0:
		gcfg.RequestsPerSecond = rps
	}
	client, err := googlewallet.New(ctx, gcfg)
	if err != nil {
		return nil, fmt.Errorf("PASSD_GOOGLE_CREDENTIALS: %w", err)
	}
	ch, err := cardsync.NewGoogle(cardsync.GoogleConfig{
		Client: client, Store: s.Store, Programs: s.Programs, Secret: s.Secret,
		PublicURL: cfg.PublicURL, Logger: log, Now: s.now,
	})
	if err != nil {
		return nil, err
	}

	verifier, err := googlewallet.NewCallbackVerifier(googlewallet.CallbackConfig{
		IssuerID: cfg.GoogleIssuerID, KeysURL: cfg.GoogleCallbackKeysURL, HTTPClient: hc, Now: s.now,
	})
	if err != nil {
		return nil, &config.Error{Var: "PASSD_GOOGLE_CALLBACK_KEYS_URL", Msg: err.Error()}
	}

	uctx, cancel := context.WithTimeout(ctx, googleStartupBudget)
	err = ch.UpsertClasses(uctx)
	cancel()
	if err != nil {
		log.Warn("Google Wallet classes not upserted at start; card deliveries will retry", "err", err)
	}
	log.Info("Google Wallet is on", "issuer_id", cfg.GoogleIssuerID, "api_url", cfg.GoogleAPIURL)

	saveURLs := memo.NewStrings(maxCachedSaveURLBytes)
	return &googleChannel{
		Deliverer: ch,
		Classes:   ch,
		// A save link names only the member's object and never expires,
		// so it is signed once per member rather than on every answer
		// (every POS transaction answers the member).
		SaveURL: func(memberID string) (string, error) {
			return saveURLs.GetOrCompute(memberID, func() (string, error) {
				return client.SaveURL([]string{client.ObjectID(memberID)}, []string{origin})
			})
		},
		Callbacks: &googleCallbacks{verifier: verifier, store: s.Store, issuerID: cfg.GoogleIssuerID, log: log},
		Close:     hc.CloseIdleConnections,
	}, nil
}

// ProgramImage serves a program's images for Google Wallet, which fetches
// a class's logo and hero from public URLs (cards.GoogleProgram makes
// them). Mount it as
//
//	r.Get("/programs/{program}/{image}", s.ProgramImage)
//
// where image is logo.png, square-logo.png, hero.png or a tier's hero-{i}.png
// (see cards.GoogleTierHero). Any other name, or a program without
// that image, is 404. The URLs carry the template hash, so the answer may be
// cached for long.
func (s *Server) ProgramImage(w http.ResponseWriter, r *http.Request) {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "no such program")
		return
	}
	name := chi.URLParam(r, "image")
	b, ok := cards.GoogleImage(p, name)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "no such image")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", `"`+p.Hash+`"`)
	if match := r.Header.Get("If-None-Match"); match == `"`+p.Hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}
