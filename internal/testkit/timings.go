package testkit

import (
	"slices"
	"testing"
	"time"
)

// Timings are what a benchmark measured of one kind of operation, in
// slices alternated with another kind (group commit on and off): the
// time the slices took and each operation's latency.
type Timings struct {
	Elapsed   time.Duration
	Latencies []time.Duration
}

// Add counts one slice that took elapsed.
func (m *Timings) Add(elapsed time.Duration, latencies []time.Duration) {
	m.Elapsed += elapsed
	m.Latencies = append(m.Latencies, latencies...)
}

// Rate is the operations per second.
func (m *Timings) Rate() float64 { return float64(len(m.Latencies)) / m.Elapsed.Seconds() }

// Report reports the rate as unit+suffix and the p50 and p99 latencies
// as p50-ms+suffix and p99-ms+suffix.
func (m *Timings) Report(b *testing.B, unit, suffix string) {
	slices.Sort(m.Latencies)
	b.ReportMetric(m.Rate(), unit+suffix)
	b.ReportMetric(PercentileMs(m.Latencies, 0.50), "p50-ms"+suffix)
	b.ReportMetric(PercentileMs(m.Latencies, 0.99), "p99-ms"+suffix)
}

// PercentileMs is the p-th quantile of sorted latencies, in milliseconds.
func PercentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}
