//go:build unix

package passkit

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time the test process has used.
// Benchmarks report it per operation next to ns/op, because wall time on
// a shared machine also counts other processes.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
