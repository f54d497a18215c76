//go:build !unix

package datalock

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lock does nothing where flock(2) is missing: restore cannot tell whether
// passd runs, and the README says to stop it first.
func lock(string, bool) (io.Closer, error) { return noLock{}, nil }

// flockWorks: without flock(2), a lock file proves nothing.
const flockWorks = false
