// Command passd is the loyalty-card service: it keeps members' points
// ledgers and issues and updates their Apple Wallet and Google Wallet cards.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/server"
)

// DefaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT sets another (GOMEMLIMIT=off: none): near it the garbage
// collector runs more often, so that passd stays under about 100 MB even
// when a message changes 100,000 cards. Caches are bounded by bytes well
// below it (see docs/operations.md).
const DefaultMemoryLimit = 64 << 20

// memoryLimit answers the limit passd sets, or 0 to leave GOMEMLIMIT's.
func memoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	return DefaultMemoryLimit
}

func main() {
	if limit := memoryLimit(os.Getenv); limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "passd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("configuration", "config", cfg, "memory_limit_bytes", debug.SetMemoryLimit(-1))
	s, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
