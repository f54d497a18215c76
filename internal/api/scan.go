package api

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// RateLimit is a token bucket: Burst events at once, refilled at PerMinute.
type RateLimit struct {
	PerMinute float64
	Burst     int
}

// DefaultScanFailureLimit bounds failed scans per API key: a till that
// misreads now and then never notices it, a script trying forged codes gets
// 20 tries and then one every six seconds.
var DefaultScanFailureLimit = RateLimit{PerMinute: 10, Burst: 20}

// maxLimiterKeys bounds the limiter's memory; full buckets (keys that have
// not failed lately) are dropped first.
const maxLimiterKeys = 10_000

// failureLimiter counts failures per key in token buckets. A key with an
// empty bucket is refused before its request is even looked at.
type failureLimiter struct {
	perSecond float64
	burst     float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(l RateLimit) *failureLimiter {
	if l.PerMinute <= 0 || l.Burst <= 0 {
		l = DefaultScanFailureLimit
	}
	return &failureLimiter{perSecond: l.PerMinute / 60, burst: float64(l.Burst), buckets: map[string]*bucket{}}
}

// refill brings key's bucket up to now; the caller holds mu.
func (l *failureLimiter) refill(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		return &bucket{tokens: l.burst, at: now}
	}
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d*l.perSecond)
		b.at = now
	}
	return b
}

// epsilon absorbs floating-point error in refills (six seconds at ten a
// minute is one token, not 0.9999999999999999).
const epsilon = 1e-9

// take takes a token from key's bucket ahead of a try and answers true;
// with no token left it takes nothing and answers false and how long key
// must wait. Taking before the try (and refunding tries that did not fail)
// keeps concurrent tries within the burst.
func (l *failureLimiter) take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.tokens < 1-epsilon {
		l.buckets[key] = b
		return false, time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
	}
	b.tokens = math.Max(0, b.tokens-1)
	if len(l.buckets) >= maxLimiterKeys {
		for k := range l.buckets {
			if k != key && l.refill(k, now).tokens >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	l.buckets[key] = b
	return true, 0
}

// refund gives back the token of a try that did not fail.
func (l *failureLimiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

type scanRequest struct {
	Barcode string `json:"barcode"`
}

// maxBarcodeLen is far above any token passd prints; longer input is not a
// barcode of passd.
const maxBarcodeLen = 128

// scan answers the member a scanned barcode (or, where the program allows
// it, a typed member number) belongs to. Failed scans are rate-limited per
// API key: once a key's bucket is empty, every scan of that key is refused
// with 429 before its code is looked at, so forged codes cannot be tried at
// speed.
func (s *Server) scan(w http.ResponseWriter, r *http.Request) (err error) {
	if err := authorize(r.Context(), loyalty.RolePOS, ""); err != nil {
		return err
	}
	p, _ := principalFrom(r.Context())
	if ok, wait := s.scans.take(p.KeyID, s.Now()); !ok {
		pr := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, "too many failed scans with this API key; retry after the Retry-After delay")
		pr.RetryAfter = max(1, int(math.Ceil(wait.Seconds()-epsilon)))
		return pr
	}
	defer func() {
		if err == nil {
			s.scans.refund(p.KeyID)
			return
		}
		switch problem.From(err).Code {
		case problem.CodeInvalidBarcode, problem.CodeNotFound, problem.CodeForbidden:
			// A failed try: the token stays taken.
		default:
			s.scans.refund(p.KeyID)
		}
	}()
	var q scanRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	code := strings.TrimSpace(q.Barcode)
	if code == "" || len(code) > maxBarcodeLen {
		v := &balances.ValidationError{}
		v.Add("barcode", fmt.Sprintf("must be the scanned barcode text (1-%d characters)", maxBarcodeLen))
		return v
	}
	m, err := s.scanned(r, p, code)
	if err != nil {
		return err
	}
	return s.writeMember(w, http.StatusOK, m)
}

// scanned resolves a scanned code to a live member the key may see.
func (s *Server) scanned(r *http.Request, p Principal, code string) (loyalty.MemberRow, error) {
	number, manual := typedNumber(code)
	if manual {
		// A bare number carries no MAC. Refuse it before any lookup unless
		// some program this key sees allows manual entry, so that in the
		// default set-up a typed number tells nothing about which numbers
		// exist.
		if !s.manualEntryPossible(p) {
			return loyalty.MemberRow{}, manualEntryOff()
		}
		if !loyalty.ValidNumber(number) {
			return loyalty.MemberRow{}, fmt.Errorf("typed number: %w", loyalty.ErrInvalidBarcode)
		}
	} else {
		n, err := loyalty.VerifyBarcode(s.Secret, code)
		if err != nil {
			return loyalty.MemberRow{}, err
		}
		number = n
	}
	m, err := s.Store.MemberByNumber(r.Context(), number)
	if err != nil {
		return loyalty.MemberRow{}, err
	}
	if m.Erased() {
		return loyalty.MemberRow{}, fmt.Errorf("member erased: %w", loyalty.ErrMemberNotFound)
	}
	if manual {
		prog, err := s.Programs.Fresh(r.Context(), m.Program, m.ProgramVersion)
		if err != nil {
			return loyalty.MemberRow{}, err
		}
		if !prog.AllowManualEntry {
			return loyalty.MemberRow{}, manualEntryOff()
		}
	}
	if err := authorize(r.Context(), loyalty.RolePOS, m.Program); err != nil {
		return loyalty.MemberRow{}, err
	}
	return m, nil
}

// manualEntryOff is the answer to a bare number where the program wants the
// card's barcode.
func manualEntryOff() error {
	return problem.New(http.StatusUnprocessableEntity, problem.CodeInvalidBarcode,
		"this program accepts only the card's barcode, not a typed member number")
}

// typedNumber reports whether code is a bare member number as a cashier
// types it (digits, maybe grouped with spaces) rather than a barcode token,
// and answers its digits.
func typedNumber(code string) (string, bool) {
	if strings.Contains(code, "-") {
		return "", false
	}
	digits := strings.ReplaceAll(code, " ", "")
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return digits, true
}

// manualEntryPossible reports whether any program the key may act on
// accepts typed member numbers.
func (s *Server) manualEntryPossible(p Principal) bool {
	for _, id := range s.Programs.IDs() {
		if !p.CanSee(id) {
			continue
		}
		if prog, err := s.Programs.Get(id); err == nil && prog.AllowManualEntry {
			return true
		}
	}
	return false
}
