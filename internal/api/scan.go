package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/ratelimit"
)

// RateLimit is a token bucket: Burst events at once, refilled at PerMinute.
type RateLimit = ratelimit.Limit

// DefaultScanFailureLimit bounds failed scans per API key: a till that
// misreads now and then never notices it, a script trying forged codes gets
// 20 tries and then one every six seconds.
var DefaultScanFailureLimit = RateLimit{PerMinute: 10, Burst: 20}

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
	if ok, wait, err := s.scans.Take(r.Context(), p.KeyID); err != nil {
		return err
	} else if !ok {
		return rateLimited("too many failed scans with this API key; retry after the Retry-After delay", wait)
	}
	defer func() {
		if err == nil {
			s.scans.Refund(p.KeyID)
			return
		}
		switch problem.From(err).Code {
		case problem.CodeInvalidBarcode, problem.CodeNotFound, problem.CodeForbidden:
			// A failed try: the token stays taken, and the store counts it
			// for every instance.
			if ferr := s.scans.Failed(r.Context(), p.KeyID); ferr != nil {
				s.Logger.WarnContext(r.Context(), "count a failed scan", "request_id", problem.RequestID(r), "err", ferr)
			}
		default:
			s.scans.Refund(p.KeyID)
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

// rateLimited is the 429 of a limit, with its Retry-After.
func rateLimited(detail string, wait time.Duration) error {
	pr := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, detail)
	pr.RetryAfter = ratelimit.RetryAfter(wait)
	return pr
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
