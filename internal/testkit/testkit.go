// Package testkit holds the helpers passd's tests share: a settable
// clock, a SQLite store opener that closes the store when the test ends,
// a test server for one HTTP surface, and a poll-until-deadline wait.
//
// It imports testing, so only _test.go files (and the test-only suites
// such as internal/store/storetest) may import it; nothing the passd
// binary is built from does.
package testkit

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/store"
)

// Clock is a settable clock, safe for concurrent use; pass its Now where a
// func() time.Time is wanted.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock answers a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now answers the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// OpenSQLite opens a fresh, migrated SQLite store in a file of its own
// under t.TempDir() and closes it when the test ends; it fails the test
// when the store does not open. A nil opts.Logger discards the store's
// log lines.
func OpenSQLite(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(t.TempDir(), "passd.db")
	st, err := store.OpenSQLite(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenSQLite(%s) = %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Serve runs h mounted at prefix, as passd mounts its surfaces (the API at
// /api/v1, the pages at /join), on a loopback test server that closes when
// the test ends.
func Serve(t testing.TB, prefix string, h http.Handler) *httptest.Server {
	t.Helper()
	r := chi.NewRouter()
	r.Mount(prefix, h)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// Deadline is how long WaitFor waits.
const Deadline = 10 * time.Second

// PollInterval is how often Poll and WaitFor look at their condition.
const PollInterval = 5 * time.Millisecond

// Poll looks at cond every PollInterval until it holds or within has
// passed, and answers whether it held. It is for tests that stop what
// they started before they judge the outcome; others call WaitFor.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
	return true
}

// WaitFor polls cond until it holds, failing the test when it does not
// within Deadline. Call it from the test's goroutine.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	if !Poll(Deadline, cond) {
		t.Fatalf("condition not met within %v", Deadline)
	}
}

// ShiftedClock is a clock that runs with real time, moved by a settable
// shift: a test jumps whole days (to a birthday, past an expiry) while a
// server's short real delays (sync debounce, backoff) still pass.
type ShiftedClock struct{ shift atomic.Int64 }

// Now is the machine's time moved by the shift.
func (c *ShiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.shift.Load())) }

// Set makes the clock read at, from now on.
func (c *ShiftedClock) Set(at time.Time) { c.shift.Store(int64(time.Until(at))) }

// Add moves the clock on by d.
func (c *ShiftedClock) Add(d time.Duration) { c.shift.Add(int64(d)) }
