//go:build unix

package server_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/datalock"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
)

// TestRunningPassdHoldsDataLock: a running passd on SQLite holds its data
// folder's lock, so passctl restore (the exclusive lock) is kept out until
// it stops; and a passd does not start while a restore holds the lock.
func TestRunningPassdHoldsDataLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stop := servertest.Start(t, map[string]string{"PASSD_DATA_DIR": dir}, nil, server.Options{NoSync: true})
	if _, err := datalock.Exclusive(dir); !errors.Is(err, datalock.ErrHeld) {
		t.Fatalf("Exclusive while passd runs = %v, want ErrHeld", err)
	}
	stop()
	restore, err := datalock.Exclusive(dir)
	if err != nil {
		t.Fatalf("Exclusive after passd stopped = %v", err)
	}
	defer restore.Close()
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": dir}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{}); err == nil || !strings.Contains(err.Error(), "restore") {
		t.Errorf("New during a restore = %v, want a refusal naming the restore", err)
	}
}
