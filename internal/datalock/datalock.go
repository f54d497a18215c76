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
	"io"
	"path/filepath"
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
