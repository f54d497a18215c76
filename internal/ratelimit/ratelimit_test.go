package ratelimit_test

import (
	"testing"
	"time"

	"github.com/passd/passd/internal/ratelimit"
)

func TestLimitTake(t *testing.T) {
	t.Parallel()
	l := ratelimit.Limit{PerMinute: 10, Burst: 3}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var b ratelimit.Bucket
	for i := range 3 {
		var ok bool
		if b, ok, _ = l.Take(b, now); !ok {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	b, ok, wait := l.Take(b, now)
	if ok || wait != 6*time.Second || ratelimit.RetryAfter(wait) != 6 {
		t.Fatalf("take past the burst = %v, wait %v, want refused for 6 s", ok, wait)
	}
	if _, ok, _ := l.Take(b, now.Add(6*time.Second)); !ok {
		t.Error("take 6 s later refused, want one token back")
	}
	// A full bucket does not grow past the burst.
	b, _, _ = l.Take(ratelimit.Bucket{Tokens: 3, At: now}, now.Add(time.Hour))
	if b.Tokens != 2 {
		t.Errorf("tokens after an hour's rest and a take = %v, want 2", b.Tokens)
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ratelimit.Limit{
		"20/10m": {PerMinute: 2, Burst: 20},
		"5/30s":  {PerMinute: 10, Burst: 5},
		"1/1h":   {PerMinute: 1.0 / 60, Burst: 1},
		"off":    {},
		"0":      {},
	} {
		if got, err := ratelimit.ParseLimit(in); err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %+v, %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "20", "x/1m", "0/1m", "-1/1m", "5/0s", "5/48h", "5/1m/2", "1/500ms"} {
		if _, err := ratelimit.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) accepted", in)
		}
	}
}

// FuzzParseLimit: whatever is read is off or a usable limit.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"20/10m", "off", "0", "1/1s", "1000000/24h", "x", "5/-1m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ratelimit.ParseLimit(s)
		if err != nil || l == (ratelimit.Limit{}) {
			return
		}
		if !l.Valid() || l.Burst > 1_000_000 || l.PerMinute <= 0 || l.PerMinute > 60_000_000 {
			t.Fatalf("ParseLimit(%q) = %+v, not a usable limit", s, l)
		}
		b, ok, _ := l.Take(ratelimit.Bucket{}, time.Unix(0, 0))
		if !ok || b.Tokens != float64(l.Burst-1) {
			t.Fatalf("first take of %+v = %v, %+v", l, ok, b)
		}
	})
}
