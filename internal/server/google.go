package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/passd/passd/internal/cardsync"
	"github.com/passd/passd/internal/config"
)

// googleChannel is passd's Google Wallet side: the sync engine's google
// channel and the members' save links. It is nil when Google is off.
type googleChannel struct {
	Deliverer cardsync.Deliverer
	SaveURL   func(memberID string) (string, error)
	Close     func()
}

// newGoogle sets Google Wallet up: nil when PASSD_GOOGLE_ISSUER_ID is empty
// (one log line says so and nothing else changes).
func newGoogle(ctx context.Context, cfg config.Config, s *Server, log *slog.Logger) (*googleChannel, error) {
	if !cfg.GoogleEnabled() {
		log.Info("Google Wallet is off (PASSD_GOOGLE_ISSUER_ID is empty): no save links, no Google sync")
		return nil, nil
	}
	return nil, errors.New("PASSD_GOOGLE_ISSUER_ID: Google Wallet sync is not wired yet")
}
