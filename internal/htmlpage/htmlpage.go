// Package htmlpage holds what passd's server-rendered pages share (the
// enrolment pages of internal/web and the merchant console of
// internal/console): page templates parsed with their layout, the tables
// of the pages' words and the choice of language from the browser's
// Accept-Language, and the security headers every page carries. It knows
// nothing of routes, sessions or programmes.
package htmlpage

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/passd/passd/internal/problem"
)

// Parse parses each named page of fsys, templates/<page>.html, with the
// layout templates/layout.html, and answers them by name.
func Parse(fsys fs.FS, pages ...string) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pages))
	for _, page := range pages {
		t, err := template.ParseFS(fsys, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s page: %w", page, err)
		}
		out[page] = t
	}
	return out, nil
}

// Headers sets the security headers of a page: its Content-Security-Policy
// csp, no MIME sniffing, no framing, and the referrer kept to passd's own
// origin (same-origin, not no-referrer: with no-referrer a browser sends
// "Origin: null" on a form's POST, which the cross-origin check must then
// refuse where Sec-Fetch-Site is unknown, as in older Safari; links leaving
// passd still carry no referrer, so signed URLs never leak).
func Headers(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// Failure answers the status and the words' key of a page whose request
// failed with err: while the database is out of reach (problem.Unavailable)
// 503 and "err_unavailable", with h's Retry-After set, else 500 and
// "err_internal". Every set of pages has words for both keys.
func Failure(h http.Header, err error) (status int, key string) {
	if retry := problem.Unavailable(err); retry > 0 {
		h.Set("Retry-After", strconv.Itoa(retry))
		return http.StatusServiceUnavailable, "err_unavailable"
	}
	return http.StatusInternalServerError, "err_internal"
}

// Words are the words of a set of pages: language, then key, then text.
// English is the fallback of every key.
type Words map[string]map[string]string

// Get answers the text of key in lang, else in English.
func (w Words) Get(lang, key string) string {
	if s, ok := w[lang][key]; ok {
		return s
	}
	return w["en"][key]
}

// Speaks reports whether the pages have words in lang.
func (w Words) Speaks(lang string) bool {
	_, ok := w[lang]
	return ok
}

// Pick answers the first language of an Accept-Language header, most
// wanted first, whose base language (fr of fr-CA) the pages speak, else
// fallback.
func (w Words) Pick(header, fallback string) string {
	for _, l := range AcceptLanguages(header) {
		base, _, _ := strings.Cut(l, "-")
		if w.Speaks(base) {
			return base
		}
	}
	return fallback
}

// AcceptLanguages lists the languages of an Accept-Language header, lower
// case, most wanted first; q=0 excludes a language, and a malformed entry
// is skipped.
func AcceptLanguages(header string) []string {
	type lq struct {
		lang string
		q    float64
	}
	var out []lq
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || tag == "*" || len(tag) > 35 {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > 0 {
			out = append(out, lq{tag, q})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	langs := make([]string, len(out))
	for i, l := range out {
		langs[i] = l.lang
	}
	return langs
}
