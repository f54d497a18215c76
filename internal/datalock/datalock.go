// Package datalock is the advisory lock on passd's data folder: the file
// passd.lock, which every running passd on the SQLite store holds shared
// and `passctl restore` takes exclusive, so that a restore never swaps the
// database under a running passd, and a passd does not start in the middle
// of a restore.
//
// The lock is flock(2) on Unix: the kernel drops it when the process ends,
// kill -9 included, so a crashed passd never leaves a stale lock behind.
// Elsewhere it does nothing.
package datalock

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Name is the lock file in the data folder.
const Name = "passd.lock"

// ErrHeld means another process holds the lock in a conflicting mode.
var ErrHeld = errors.New("the data folder is locked by another process")

// Shared takes the data folder's lock shared, without waiting: passd
// holds it while it runs. It answers ErrHeld while a restore runs.
func Shared(dir string) (io.Closer, error) {
	return lock(filepath.Join(dir, Name), false)
}

// Exclusive takes the data folder's lock exclusive, without waiting: it
// answers ErrHeld while any passd runs on the folder.
func Exclusive(dir string) (io.Closer, error) {
	return lock(filepath.Join(dir, Name), true)
}

// InstanceDir is the folder, in the data folder, of the passd instances'
// lock files (internal/lease): each running passd holds its own
// exclusive, so that another can tell at once that it stopped.
const InstanceDir = "instances"

// Instance takes instance id's lock file exclusive: while the process
// holds it (until Close or the process ends), InstanceAlive answers true.
func Instance(dir, id string) (io.Closer, error) {
	path, err := instancePath(dir, id)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("instance lock: %w", err)
	}
	return lock(path, true)
}

// InstanceAlive reports whether instance id still holds its lock file;
// known is false where locks do nothing or the file cannot be checked. The
// lock file of a stopped instance is removed.
func InstanceAlive(dir, id string) (alive, known bool) {
	if !flockWorks {
		return false, false
	}
	path, err := instancePath(dir, id)
	if err != nil {
		return false, false
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, true
	}
	c, err := lock(path, true)
	switch {
	case errors.Is(err, ErrHeld):
		return true, true
	case err != nil:
		return false, false
	}
	os.Remove(path)
	c.Close()
	return false, true
}

func instancePath(dir, id string) (string, error) {
	if id == "" || filepath.Base(id) != id || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("instance lock: bad instance id %q", id)
	}
	return filepath.Join(dir, InstanceDir, id+".lock"), nil
}
