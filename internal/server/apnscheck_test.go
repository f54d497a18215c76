package server_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// TestAPNsCheckedAtStart: passd has APNs look at its pass certificate once
// at start and says in the log whether APNs took it.
func TestAPNsCheckedAtStart(t *testing.T) {
	t.Parallel()
	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		a := newAppleEnv(t)
		logs := runLogged(t, a.env)
		waitFor(t, func() bool { return strings.Contains(logs.String(), "APNs accepted the pass certificate") })
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		// This APNs trusts only its own CA, not the one that issued
		// passd's certificate: the handshake fails over the certificate.
		mock := apnstest.NewServer(t, apnstest.Options{Topic: config.DefaultPassTypeID})
		caFile := filepath.Join(t.TempDir(), "apns-ca.pem")
		if err := os.WriteFile(caFile, mock.CAPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		logs := runLogged(t, map[string]string{"PASSD_APNS_URL": mock.URL, "PASSD_APNS_CA": caFile})
		waitFor(t, func() bool {
			out := logs.String()
			return strings.Contains(out, "APNs REFUSED the pass certificate") && strings.Contains(out, "level=ERROR")
		})
		if len(mock.Pushes()) != 0 {
			t.Errorf("the check pushed %d notifications", len(mock.Pushes()))
		}
	})
}

// runLogged runs passd with env until the test ends and answers its log.
func runLogged(t *testing.T, env map[string]string) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	servertest.Start(t, env, slog.New(slog.NewTextHandler(logs, nil)), server.Options{NoSync: true})
	return logs
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartAdvisesAdminKey: a passd with no admin key says at start how to
// make one; with a bootstrap key it does not.
func TestStartAdvisesAdminKey(t *testing.T) {
	t.Parallel()
	const advice = "no admin API key yet"
	logs := runLogged(t, map[string]string{"PASSD_DATA_DIR": t.TempDir()})
	waitFor(t, func() bool { return strings.Contains(logs.String(), "passd started") })
	waitFor(t, func() bool { return strings.Contains(logs.String(), advice) })
	if !strings.Contains(logs.String(), "passctl apikey create --role admin") {
		t.Errorf("start-up log lacks how to make an admin key:\n%s", logs)
	}
	withKey := runLogged(t, map[string]string{"PASSD_DATA_DIR": t.TempDir(), "PASSD_BOOTSTRAP_ADMIN_KEY": "bootstrap-admin-key-0123456789"})
	waitFor(t, func() bool { return strings.Contains(withKey.String(), "enrollment page") })
	if strings.Contains(withKey.String(), advice) {
		t.Errorf("with a bootstrap admin key the log still says %q", advice)
	}
}
