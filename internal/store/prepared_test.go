package store

import (
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestSQLiteReaders checks that SQLite reads go through statements
// prepared once, on mapped readers, and that a query that cannot prepare
// still reports its error.
func TestSQLiteReaders(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "passd.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.rdPrepared == nil || s.rd != s.rdPrepared {
		t.Fatal("SQLite reads do not go through the prepared reader")
	}

	var mmap int64
	if err := s.r.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil {
		t.Fatal(err)
	}
	if mmap != sqliteMmapSize {
		t.Errorf("reader mmap_size = %d, want %d", mmap, sqliteMmapSize)
	}

	// Many goroutines at once on the pool: one statement per query text.
	const q = `SELECT count(*) FROM members WHERE program = $1`
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			var n int
			if err := s.rd.QueryRowContext(ctx, q, "demo").Scan(&n); err != nil || n != 0 {
				t.Errorf("count = %d, %v; want 0, nil", n, err)
			}
		})
	}
	wg.Wait()
	s.rdPrepared.mu.RLock()
	n := len(s.rdPrepared.stmts)
	s.rdPrepared.mu.RUnlock()
	if n != 1 {
		t.Errorf("%d prepared statements after one query text, want 1", n)
	}

	var x int
	err = s.rd.QueryRowContext(ctx, `SELECT nope FROM nowhere`).Scan(&x)
	if err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("bad query: err = %v, want the table named", err)
	}
	if _, err := s.rd.QueryContext(ctx, `SELECT nope FROM nowhere`); err == nil {
		t.Error("bad query through QueryContext: no error")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(s.rdPrepared.stmts) != 0 {
		t.Errorf("%d statements left open after Close", len(s.rdPrepared.stmts))
	}
}
