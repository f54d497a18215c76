//go:build unix

package datalock_test

import (
	"errors"
	"testing"

	"github.com/passd/passd/internal/datalock"
)

// TestLockModes: shared holders (running passds) coexist and keep an
// exclusive taker (restore) out; an exclusive holder keeps them out; a
// released lock can be taken again.
func TestLockModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := datalock.Shared(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := datalock.Shared(dir)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := datalock.Exclusive(dir); !errors.Is(err, datalock.ErrHeld) {
		t.Fatalf("Exclusive while shared held = %v, want ErrHeld", err)
	}
	a.Close()
	if _, err := datalock.Exclusive(dir); !errors.Is(err, datalock.ErrHeld) {
		t.Fatalf("Exclusive while one shared held = %v, want ErrHeld", err)
	}
	b.Close()
	x, err := datalock.Exclusive(dir)
	if err != nil {
		t.Fatalf("Exclusive when free: %v", err)
	}
	if _, err := datalock.Shared(dir); !errors.Is(err, datalock.ErrHeld) {
		t.Fatalf("Shared while exclusive held = %v, want ErrHeld", err)
	}
	x.Close()
	s, err := datalock.Shared(dir)
	if err != nil {
		t.Fatalf("Shared after release: %v", err)
	}
	s.Close()
}
