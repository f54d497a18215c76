package htmlpage_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

func TestAcceptLanguages(t *testing.T) {
	t.Parallel()
	for header, want := range map[string][]string{
		"":                            {},
		"fr-CA,fr;q=0.9,en;q=0.8":     {"fr-ca", "fr", "en"},
		"en;q=0.2, DE;q=0.9, *;q=0.1": {"de", "en"},
		"it;q=0, es":                  {"es"},
		"nl;q=abc, pt":                {"pt"},
		"ja;q=0.5,ko;q=0.5,zh;q=0.6":  {"zh", "ja", "ko"},
	} {
		if got := htmlpage.AcceptLanguages(header); !slices.Equal(got, want) {
			t.Errorf("AcceptLanguages(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	w := htmlpage.Words{"en": {"hi": "Hello", "only_en": "Only"}, "fr": {"hi": "Bonjour"}}
	for _, tc := range []struct{ lang, key, want string }{
		{"fr", "hi", "Bonjour"}, {"fr", "only_en", "Only"}, {"de", "hi", "Hello"}, {"en", "missing", ""},
	} {
		if got := w.Get(tc.lang, tc.key); got != tc.want {
			t.Errorf("Get(%s, %s) = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
	for header, want := range map[string]string{
		"fr-CA,en;q=0.5": "fr", "de,en;q=0.1": "en", "de": "xx", "": "xx", "fr;q=0,en": "en",
	} {
		if got := w.Pick(header, "xx"); got != want {
			t.Errorf("Pick(%q, xx) = %q, want %q", header, got, want)
		}
	}
}

func TestHeadersAndParse(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	htmlpage.Headers(h, "default-src 'none'")
	for k, v := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := h.Get(k); got != v {
			t.Errorf("Headers: %s = %q, want %q", k, got, v)
		}
	}
	fsys := fstest.MapFS{
		"templates/layout.html": {Data: []byte(`{{define "layout"}}<main>{{template "content" .}}</main>{{end}}`)},
		"templates/a.html":      {Data: []byte(`{{define "content"}}A{{end}}`)},
	}
	pages, err := htmlpage.Parse(fsys, "a")
	if err != nil || pages["a"] == nil {
		t.Fatalf("Parse(a) = %v, %v", pages, err)
	}
	if _, err := htmlpage.Parse(fsys, "a", "missing"); err == nil {
		t.Errorf("Parse(missing) = nil error, want one naming the page")
	}
}

func TestFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		key    string
		retry  string
	}{
		{fmt.Errorf("read member: %w: dial tcp: connection refused", loyalty.ErrUnavailable), http.StatusServiceUnavailable, "err_unavailable", strconv.Itoa(problem.UnavailableRetryAfter)},
		{errors.New("template: no such field"), http.StatusInternalServerError, "err_internal", ""},
		{fmt.Errorf("read member: %w", loyalty.ErrMemberNotFound), http.StatusInternalServerError, "err_internal", ""},
	} {
		h := http.Header{}
		status, key := htmlpage.Failure(h, tc.err)
		if status != tc.status || key != tc.key || h.Get("Retry-After") != tc.retry {
			t.Errorf("Failure(%v) = %d %q, Retry-After %q; want %d %q, %q", tc.err, status, key, h.Get("Retry-After"), tc.status, tc.key, tc.retry)
		}
	}
}
