package problem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// TestFrom maps each domain error, wrapped as the layers below wrap it, to
// its status and stable code.
func TestFrom(t *testing.T) {
	t.Parallel()
	ve := &balances.ValidationError{}
	ve.Add("name", "is required")
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("load: %w", loyalty.ErrMemberNotFound), 404, problem.CodeNotFound},
		{fmt.Errorf("load: %w", loyalty.ErrProgramNotFound), 404, problem.CodeNotFound},
		{fmt.Errorf("row: %w", loyalty.ErrNotFound), 404, problem.CodeNotFound},
		{fmt.Errorf("scan: %w", loyalty.ErrInvalidBarcode), 422, problem.CodeInvalidBarcode},
		{fmt.Errorf("post: %w", balances.ErrInsufficientPoints), 409, problem.CodeInsufficientPoints},
		{fmt.Errorf("post: %w", balances.ErrIdempotencyConflict), 409, problem.CodeIdempotencyConflict},
		{fmt.Errorf("post: %w", balances.ErrRequestInProgress), 409, problem.CodeRequestInProgress},
		{fmt.Errorf("page: %w", loyalty.ErrBadCursor), 422, problem.CodeValidationFailed},
		{fmt.Errorf("patch: %w", loyalty.ErrVersionMismatch), 412, problem.CodeVersionMismatch},
		{fmt.Errorf("%w: not a PNG", loyalty.ErrInvalidImage), 422, problem.CodeInvalidImage},
		{fmt.Errorf("%w: at byte 3", loyalty.ErrMalformedJSON), 400, problem.CodeMalformedJSON},
		{fmt.Errorf("enrol: %w", ve), 422, problem.CodeValidationFailed},
		{&http.MaxBytesError{Limit: 1 << 20}, 413, problem.CodeBodyTooLarge},
		{problem.Status(http.StatusForbidden, "no"), 403, problem.CodeForbidden},
		{fmt.Errorf("read: %w", loyalty.ErrUnavailable), 503, problem.CodeUnavailable},
		{errors.New("disk on fire"), 500, problem.CodeInternal},
	} {
		p := problem.From(tc.err)
		if p.Status != tc.status || p.Code != tc.code || p.Title == "" {
			t.Errorf("From(%v) = %d %s %q, want %d %s with a title", tc.err, p.Status, p.Code, p.Title, tc.status, tc.code)
		}
	}
	if p := problem.From(fmt.Errorf("x: %w", ve)); len(p.Errors) != 1 || p.Errors[0].Field != "name" {
		t.Errorf("From(validation).Errors = %v, want the field", p.Errors)
	}
	if p := problem.From(balances.ErrRequestInProgress); p.RetryAfter != 1 {
		t.Errorf("From(in progress).RetryAfter = %d, want 1", p.RetryAfter)
	}
}

// TestWrite answers problem+json, hides a 500's detail and sets
// Retry-After.
func TestWrite(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
		hidden     string
	}{
		{balances.ErrRequestInProgress, 409, "1", ""},
		{fmt.Errorf("member: %w: dial tcp: connection refused", loyalty.ErrUnavailable), 503, "2", "connection refused"},
		{errors.New("secret detail of a failure"), 500, "", "secret detail"},
	} {
		w := httptest.NewRecorder()
		problem.Write(w, httptest.NewRequest("GET", "/api/v1/x", nil), log, tc.err)
		var body map[string]any
		if w.Code != tc.status || w.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(w.Body.Bytes(), &body) != nil {
			t.Errorf("Write(%v) = %d %q %s", tc.err, w.Code, w.Header().Get("Content-Type"), w.Body)
			continue
		}
		if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("Write(%v) Retry-After = %q, want %q", tc.err, got, tc.retryAfter)
		}
		if tc.hidden != "" && strings.Contains(w.Body.String(), tc.hidden) {
			t.Errorf("Write(%v) shows %q: %s", tc.err, tc.hidden, w.Body)
		}
		if body["instance"] != "/api/v1/x" {
			t.Errorf("Write(%v) instance = %v", tc.err, body["instance"])
		}
	}
	// A client that went away gets no problem body, and nothing is logged
	// as a failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest("GET", "/x", nil).WithContext(ctx), log, fmt.Errorf("read: %w", context.Canceled))
	if w.Code != http.StatusServiceUnavailable || w.Body.Len() != 0 {
		t.Errorf("Write(cancelled) = %d %q, want 503 with no body", w.Code, w.Body)
	}
}
