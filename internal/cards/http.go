package cards

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/passkit"
)

// ServePass writes a signed pass with its Last-Modified time, or 304 when
// the client's If-Modified-Since is not older than it. Pass versions are at
// least one second apart (the store sees to it), so a 304 never hides a
// newer version.
func ServePass(w http.ResponseWriter, r *http.Request, data []byte, modified time.Time, filename string) {
	modified = modified.UTC().Truncate(time.Second)
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !modified.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", passkit.ContentType)
	if !modified.IsZero() {
		h.Set("Last-Modified", modified.Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "no-cache, private")
	if filename != "" {
		h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

// DownloadHandler serves /passes/{file}: a member's pass behind a signed
// link, with no API key. A link signs exactly one member id, so it never
// yields another member's pass. fail answers errors (the server's problem
// map: a store out of reach is 503, not 404 or 500).
func (s *Service) DownloadHandler(l *links.Signer, fail func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(chi.URLParam(r, "file"), ".pkpass")
		if _, err := uuid.Parse(id); !ok || err != nil {
			fail(w, r, problem.Status(http.StatusNotFound, "no such pass"))
			return
		}
		if !l.Verify(links.KindPass, id, r.URL.Query().Get("sig")) {
			fail(w, r, problem.Status(http.StatusForbidden, "this pass link is not valid; ask for a new one"))
			return
		}
		m, err := s.store.Member(r.Context(), id)
		if errors.Is(err, loyalty.ErrMemberNotFound) || err == nil && m.Erased() {
			fail(w, r, problem.Status(http.StatusNotFound, "no such pass"))
			return
		}
		if err != nil {
			fail(w, r, fmt.Errorf("read member for a pass download: %w", err))
			return
		}
		data, modified, err := s.Bundle(r.Context(), m)
		if err != nil {
			fail(w, r, fmt.Errorf("pass download: %w", err))
			return
		}
		ServePass(w, r, data, modified, "loyalty-card.pkpass")
	}
}
