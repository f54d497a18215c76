//go:build unix

package datalock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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

// TestInstanceAlive: an instance holding its lock file is alive; once it
// lets go (as the kernel does when the process dies) it is dead and its
// file is gone; an instance that never locked is dead; a bad id is not
// judged.
func TestInstanceAlive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := datalock.Instance(dir, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if alive, known := datalock.InstanceAlive(dir, "a1"); !alive || !known {
		t.Fatalf("InstanceAlive(held) = %v, %v; want true, true", alive, known)
	}
	if alive, known := datalock.InstanceAlive(dir, "never"); alive || !known {
		t.Fatalf("InstanceAlive(never locked) = %v, %v; want false, true", alive, known)
	}
	c.Close()
	if alive, known := datalock.InstanceAlive(dir, "a1"); alive || !known {
		t.Fatalf("InstanceAlive(released) = %v, %v; want false, true", alive, known)
	}
	if _, err := os.Stat(filepath.Join(dir, datalock.InstanceDir, "a1.lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dead instance's lock file stays: %v", err)
	}
	if _, known := datalock.InstanceAlive(dir, "../passd"); known {
		t.Fatal("a path as instance id was judged")
	}
	if _, err := datalock.Instance(dir, "../passd"); err == nil {
		t.Fatal("Instance took a path as id")
	}
}
