package chaos_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // integrity_check on the database passd wrote
)

// TestSQLiteDiskFull runs passd on SQLite in a 16 MiB tmpfs (mounted for
// the test: it needs root), fills the file system, and posts earns until
// SQLite cannot grow. Those answer 503 unavailable, never 500, and passd
// logs the cause ("database or disk is full"). Once space is back, the
// same requests succeed with their keys, the database passes
// integrity_check, and the ledger holds every acknowledged earn once.
func TestSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	a := newApple(t, dir)
	p := start(t, merge(a.env, map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey}))
	ctx := deadline(t, 2*time.Minute)
	l := newLoad(t, p.URL)
	l.enrol(ctx, 4)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	// Post until SQLite needs space it cannot get (the WAL reuses its
	// pages for a while); each earn's retries meet the full disk too.
	fullCtx, stopFull := context.WithCancel(ctx)
	full := make(chan struct{})
	go func() {
		defer close(full)
		l.until(fullCtx, func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.statuses[503] > 0
		})
	}()
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, 4, 2000) }()
	select {
	case <-full:
	case <-done:
		t.Fatal("every earn went through on a full disk")
	}
	stopFull()
	if !strings.Contains(p.output(), "database or disk is full") {
		t.Errorf("passd's log does not name the full disk:\n%s", tail(p.output(), 4000))
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	l.waitAcks(ctx, 50)
	l.stop()
	<-done
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish once space was back: %v", ctx.Err())
	}
	l.check(ctx)
	p.kill()
	db, err := sql.Open("sqlite", filepath.Join(dir, "passd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
