// Package servertest runs a whole passd for a test: configured from an
// environment map over loopback defaults, serving until the test ends.
package servertest

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/passkit"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// Start makes a passd from env (PASSD_ADDR defaults to 127.0.0.1:0 and
// PASSD_DATA_DIR to a folder of the test's), runs it, and answers it once
// /healthz answers 200, with a function that stops it and reports Run's
// error; the test's cleanup calls that function too. A nil log discards.
func Start(t testing.TB, env map[string]string, log *slog.Logger, opts server.Options) (s *server.Server, stop func()) {
	t.Helper()
	base := map[string]string{"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": t.TempDir()}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err = server.New(context.Background(), cfg, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(s.URL() + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("passd not healthy within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Apple is a mock APNs that trusts passd's development pass certificate,
// made in dataDir before passd starts (passd reuses them there), and the
// environment that points a passd with that data folder at the mock.
func Apple(t testing.TB, dataDir string) (*apnstest.Server, map[string]string) {
	t.Helper()
	creds, err := passkit.GenerateDev(dataDir, config.DefaultPassTypeID, config.DefaultTeamID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(creds.WWDR)
	mock := apnstest.NewServer(t, apnstest.Options{ClientCAs: pool, Topic: config.DefaultPassTypeID})
	caFile := filepath.Join(t.TempDir(), "apns-ca.pem")
	if err := os.WriteFile(caFile, mock.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return mock, map[string]string{"PASSD_DATA_DIR": dataDir, "PASSD_APNS_URL": mock.URL, "PASSD_APNS_CA": caFile}
}
