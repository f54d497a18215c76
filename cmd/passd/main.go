// Command passd is the loyalty-card service: it keeps members' points
// ledgers and issues and updates their Apple Wallet and Google Wallet cards.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/server"
)

func main() {
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
	log.Info("configuration", "config", cfg)
	s, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
