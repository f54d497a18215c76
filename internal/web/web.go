// Package web serves passd's public pages: a program's enrolment page
// (/join/{program}), where a customer joins and gets the card, and the
// result page that shows the card and the "Add to Apple Wallet" and "Add to
// Google Wallet" buttons.
//
// The pages are server-rendered html/template with an embedded stylesheet
// and no JavaScript. They follow the spirit of Apple's and Google's wallet
// button guidelines (a black button, the official wording, the whole
// button a link) without their trademarked artwork:
// https://developer.apple.com/wallet/add-to-apple-wallet-guidelines/ and
// https://developers.google.com/wallet/generic/resources/brand-guidelines.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/ratelimit"
	"github.com/passd/passd/internal/surface"
)

// MaxFormBytes bounds an enrolment form body.
const MaxFormBytes = 16 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/join.css
var baseCSS string

//go:embed static/favicon.svg
var favicon []byte

// HoneypotField is the enrolment form's trap: a text field people never
// see. A POST that fills it enrols nobody and is answered the empty form
// again, as if nothing happened.
const HoneypotField = "contact_by_fax_only"

// Config holds the Server's dependencies.
type Config struct {
	// Deps are what every surface that shows a member needs; Store,
	// Programs, Links and Secret are required. Secret also keys the
	// form tokens; without GoogleSaveURL the result page shows no Google
	// button.
	surface.Deps
	// PublicURL is passd's external base URL; when it is https the form
	// cookie is marked Secure.
	PublicURL string
	// JoinLimitPerAddress and JoinLimitPerProgram bound enrolments per
	// client address (Deps.ClientAddr) and per programme; above either a
	// visitor gets a 429 page. The zero Limit is off.
	JoinLimitPerAddress, JoinLimitPerProgram ratelimit.Limit
}

// Server serves the public pages.
type Server struct {
	surface.Deps
	secureCookies bool
	crossOrigin   *http.CrossOriginProtection
	pages         map[string]*template.Template
	// joinByAddr and joinByProgram limit enrolments; nil when off.
	joinByAddr, joinByProgram *ratelimit.Shared
}

// New returns the pages server; it parses the templates.
func New(cfg Config) (*Server, error) {
	deps, err := surface.Complete("web", cfg.Deps)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Deps:          deps,
		secureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), crossOrigin: http.NewCrossOriginProtection(),
	}
	if s.pages, err = htmlpage.Parse(templateFS, "form", "result", "error"); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if cfg.JoinLimitPerAddress.Valid() {
		s.joinByAddr = ratelimit.NewShared(deps.Store, "join-addr", cfg.JoinLimitPerAddress, deps.Now)
	}
	if cfg.JoinLimitPerProgram.Valid() {
		s.joinByProgram = ratelimit.NewShared(deps.Store, "join-program", cfg.JoinLimitPerProgram, deps.Now)
	}
	return s, nil
}

// Handler serves the pages; mount it at /join.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, nil, http.StatusNotFound, "err_no_page")
	})
	r.Get("/favicon.svg", serveFavicon)
	r.Get("/{program}", s.form)
	r.Post("/{program}", s.submit)
	r.Get("/{program}/logo.png", s.logo)
	r.Get("/{program}/icon.png", s.icon)
	r.Get("/{program}/qr.png", s.joinQR)
	r.Get("/{program}/card/{id}", s.result)
	return r
}

// securityHeaders sets the headers every answer carries; pages tighten the
// Content-Security-Policy with the hash of their stylesheet.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		htmlpage.Headers(w.Header(), "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// page is what every page template gets.
type page struct {
	T     T
	Lang  string
	Title string
	// Description is the page's meta description (the public form's).
	Description string
	// Icon is the page's favicon: the programme's icon, else passd's.
	Icon string
	// Privacy is the privacy notice of the form.
	Privacy string
	// Honeypot is the name of the form's trap field.
	Honeypot string
	Program  *loyalty.Program
	Texts    loyalty.Texts
	CSS      template.CSS
	LogoURL  string
	// form
	Action  string
	Token   string
	Values  formValues
	Errors  fieldErrors
	Notice  string
	MaxDate string
	// result
	Card      *cardView
	AppleURL  string
	GoogleURL string
	Handoff   template.URL
	// error
	Message string
	BackURL string
}

// cardView is the HTML preview of a member's card.
type cardView struct {
	Name, Number, Tier string
	Points             int64
	Barcode            template.URL // data: URL of the barcode's QR image
}

func (s *Server) newPage(r *http.Request, p *loyalty.Program) *page {
	lang := pageLanguage(r.Header.Get("Accept-Language"), p)
	_, texts := p.Text(lang)
	return &page{T: T{Lang: lang}, Lang: lang, Program: p, Texts: texts,
		LogoURL: "/join/" + p.ID + "/logo.png", Icon: "/join/" + p.ID + "/icon.png", Errors: fieldErrors{}}
}

// programCSS is the stylesheet of a program's pages: its colours, then the
// embedded base stylesheet. Colours are validated #rrggbb by the loader.
func programCSS(p *loyalty.Program) string {
	return fmt.Sprintf(":root{--brand-bg:%s;--brand-fg:%s;--brand-label:%s}\n", p.Colors.Background, p.Colors.Foreground, p.Colors.Label) + baseCSS
}

// render writes a page. The stylesheet is inline, allowed by its hash, so
// the policy needs neither 'unsafe-inline' nor a second request.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, status int, pg *page) {
	css := baseCSS
	if pg.Program != nil {
		css = programCSS(pg.Program)
	}
	pg.CSS = template.CSS(css)
	sum := sha256.Sum256([]byte(css))
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", pg); err != nil {
		s.Logger.ErrorContext(r.Context(), "render page", "page", name, "request_id", problem.RequestID(r), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'sha256-"+
		base64.StdEncoding.EncodeToString(sum[:])+"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", pg.Lang)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// PrivacyParagraphs is the privacy notice cut at its line breaks.
func (pg *page) PrivacyParagraphs() []string {
	var out []string
	for l := range strings.SplitSeq(strings.ReplaceAll(pg.Privacy, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, p *loyalty.Program, status int, key string) {
	var pg *page
	if p != nil {
		pg = s.newPage(r, p)
		pg.BackURL = "/join/" + p.ID
	} else {
		lang := pageLanguage(r.Header.Get("Accept-Language"), &loyalty.Program{DefaultLocale: "en"})
		pg = &page{T: T{Lang: lang}, Lang: lang, Icon: "/join/favicon.svg", Errors: fieldErrors{}}
	}
	pg.Title = pg.T.Get("error_title")
	if status == http.StatusNotFound && p == nil {
		pg.Title = pg.T.Get("not_found_title")
	}
	pg.Message = pg.T.Get(key)
	s.render(w, r, "error", status, pg)
}

// failed logs a request's failure and answers its error page: 503 while
// the database is out of reach, else 500.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, p *loyalty.Program, what string, err error) {
	args := []any{"request_id", problem.RequestID(r), "err", err}
	if p != nil {
		args = append(args, "program", p.ID)
	}
	s.Logger.ErrorContext(r.Context(), what, args...)
	status, key := htmlpage.Failure(w.Header(), err)
	s.errorPage(w, r, p, status, key)
}

// program answers the program of the route, or writes a 404 page.
func (s *Server) program(w http.ResponseWriter, r *http.Request) (*loyalty.Program, bool) {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if errors.Is(err, loyalty.ErrProgramNotFound) {
		s.errorPage(w, r, nil, http.StatusNotFound, "err_no_program")
		return nil, false
	}
	if err != nil {
		s.failed(w, r, nil, "load program", err)
		return nil, false
	}
	return p, true
}

func (s *Server) form(w http.ResponseWriter, r *http.Request) {
	p, ok := s.program(w, r)
	if !ok {
		return
	}
	pg := s.newPage(r, p)
	pg.Values.Ref = loyalty.NormalizeReferralCode(r.URL.Query().Get("ref"))
	s.renderForm(w, r, pg, http.StatusOK, s.newToken(p.ID, s.browserCookie(w, r)))
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, pg *page, status int, token string) {
	pg.Title = fmt.Sprintf(pg.T.Get("join_title"), pg.Texts.ProgramName)
	pg.Description = pg.Texts.Description
	if pg.Description == "" {
		pg.Description = fmt.Sprintf(pg.T.Get("meta_description"), pg.Texts.ProgramName)
	}
	pg.Privacy = pg.Texts.Privacy
	if pg.Privacy == "" {
		org := pg.Program.OrganizationName
		pg.Privacy = fmt.Sprintf(pg.T.Get("privacy_default"), org, org)
	}
	pg.Honeypot = HoneypotField
	pg.Action = "/join/" + pg.Program.ID
	pg.Token = token
	pg.MaxDate = s.Now().UTC().Format(time.DateOnly)
	s.render(w, r, "form", status, pg)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.program(w, r)
	if !ok {
		return
	}
	pg := s.newPage(r, p)
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.errorPage(w, r, p, http.StatusRequestEntityTooLarge, "err_too_large")
			return
		}
		s.refuseForm(w, r, pg)
		return
	}
	if err := s.crossOrigin.Check(r); err != nil {
		s.refuseForm(w, r, pg)
		return
	}
	cookie := ""
	if c, err := r.Cookie(CookieName); err == nil {
		cookie = c.Value
	}
	token := r.PostForm.Get("token")
	nonce, err := s.checkToken(p.ID, cookie, token)
	if err != nil {
		s.refuseForm(w, r, pg)
		return
	}
	if r.PostForm.Get(HoneypotField) != "" {
		// A script filled the trap: nothing is stored, and the answer
		// is the one a fresh form gets.
		s.Logger.InfoContext(r.Context(), "join form honeypot filled; nothing enrolled", "program", p.ID)
		s.renderForm(w, r, pg, http.StatusOK, s.newToken(p.ID, s.browserCookie(w, r)))
		return
	}
	pg.Values = formValues{
		Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email"),
		Birthday: r.PostForm.Get("birthday"), Consent: r.PostForm.Get("consent") == "yes",
		Marketing: r.PostForm.Get("marketing") == "yes",
		Ref:       loyalty.NormalizeReferralCode(r.PostForm.Get("ref")),
	}
	if errs := pg.Values.validate(s.Now()); len(errs) > 0 {
		// Nothing is stored; the same token (and nonce) stays valid.
		pg.Errors = errs
		s.renderForm(w, r, pg, http.StatusUnprocessableEntity, token)
		return
	}
	if !s.joinAllowed(w, r, pg) {
		return
	}
	m, created, err := loyalty.Enroll(r.Context(), s.Store, p, loyalty.EnrollInput{
		Profile:        loyalty.Profile{Name: pg.Values.Name, Email: pg.Values.Email, Birthday: pg.Values.Birthday, ExternalID: "join:" + nonce},
		MarketingOptIn: pg.Values.Marketing, Source: loyalty.ConsentJoinPage,
		ReferralCode: pg.Values.Ref, IgnoreUnknownReferral: true,
	}, s.Now())
	if err != nil {
		s.failed(w, r, p, "web enrolment failed", err)
		return
	}
	if created {
		s.OnChange()
		s.Logger.InfoContext(r.Context(), "member joined on the web", "program", p.ID, "member_id", m.ID)
	}
	// Post/redirect/get: a reload of the result does not post again.
	http.Redirect(w, r, s.Links.JoinResultPath(p.ID, m.ID), http.StatusSeeOther)
}

// joinAllowed takes an enrolment from the client address's and the
// programme's limits, or answers the 429 page (with Retry-After) and
// false.
func (s *Server) joinAllowed(w http.ResponseWriter, r *http.Request, pg *page) bool {
	var wait time.Duration
	for _, l := range []struct {
		limiter *ratelimit.Shared
		key     string
	}{
		{s.joinByAddr, clientaddr.Key(s.ClientAddr.Addr(r))},
		{s.joinByProgram, pg.Program.ID},
	} {
		if l.limiter == nil {
			continue
		}
		ok, left, err := l.limiter.Take(r.Context(), l.key)
		if err != nil {
			s.failed(w, r, pg.Program, "join rate limit", err)
			return false
		}
		if !ok {
			wait = left
			break
		}
	}
	if wait == 0 {
		return true
	}
	secs := ratelimit.RetryAfter(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	pg.BackURL = "/join/" + pg.Program.ID
	pg.Title = pg.T.Get("rate_limited_title")
	pg.Message = fmt.Sprintf(pg.T.Get("err_rate_limited"), (secs+59)/60)
	s.render(w, r, "error", http.StatusTooManyRequests, pg)
	return false
}

// refuseForm answers a POST whose form token or origin does not check out
// with 403 and a fresh, empty form: nothing typed into a forged form is
// carried over.
func (s *Server) refuseForm(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Notice = pg.T.Get("err_form_expired")
	s.renderForm(w, r, pg, http.StatusForbidden, s.newToken(pg.Program.ID, s.browserCookie(w, r)))
}

func (s *Server) result(w http.ResponseWriter, r *http.Request) {
	p, ok := s.program(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil || !s.Links.Verify(links.KindJoinResult, id, r.URL.Query().Get("sig")) {
		s.errorPage(w, r, p, http.StatusNotFound, "err_not_found")
		return
	}
	m, err := s.Store.Member(r.Context(), id)
	if err != nil || m.Erased() || m.Program != p.ID {
		if err != nil && !errors.Is(err, loyalty.ErrMemberNotFound) {
			s.failed(w, r, p, "load member", err)
			return
		}
		s.errorPage(w, r, p, http.StatusNotFound, "err_not_found")
		return
	}
	pg := s.newPage(r, p)
	pg.Title = pg.T.Get("result_title")
	barcode, err := cards.QRPNG(loyalty.BarcodeToken(s.Secret, m.Number), 256)
	if err != nil {
		s.failed(w, r, p, "render barcode", err)
		return
	}
	handoff, err := cards.QRPNG(s.Links.JoinResultURL(p.ID, m.ID), 320)
	if err != nil {
		s.failed(w, r, p, "render handoff code", err)
		return
	}
	pg.Card = &cardView{Name: m.Name, Number: m.Number, Tier: p.Localize(pg.Lang, m.Account.Tier, m.Account.Tier),
		Points: m.Account.Points, Barcode: dataURL(barcode)}
	pg.Handoff = dataURL(handoff)
	pg.AppleURL = s.Links.PassURL(m.ID)
	if s.GoogleSaveURL != nil {
		u, err := s.GoogleSaveURL(m.ID)
		if err != nil {
			// The card is still usable with Apple Wallet; say so in the log
			// and leave the Google button out rather than fail the page.
			s.Logger.WarnContext(r.Context(), "google save link", "member_id", m.ID, "request_id", problem.RequestID(r), "err", err)
		} else {
			pg.GoogleURL = u
		}
	}
	s.render(w, r, "result", http.StatusOK, pg)
}

func dataURL(png []byte) template.URL {
	// The bytes are passd's own PNG, so the data: URL is safe to trust.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// logo serves the program's logo: the sharpest version the template has.
func (s *Server) logo(w http.ResponseWriter, r *http.Request) {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return
	}
	for _, name := range []string{"logo@3x.png", "logo@2x.png", "logo.png", "icon@3x.png", "icon@2x.png", "icon.png"} {
		if b, ok := p.Files[name]; ok {
			servePNG(w, r, p, name, b)
			return
		}
	}
	problem.Write(w, r, s.Logger, problem.Status(http.StatusNotFound, "the program has no logo"))
}

// icon serves the programme's icon, the pages' favicon.
func (s *Server) icon(w http.ResponseWriter, r *http.Request) {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return
	}
	b, ok := p.Files["icon.png"]
	if !ok {
		problem.Write(w, r, s.Logger, problem.Status(http.StatusNotFound, "the program has no icon"))
		return
	}
	servePNG(w, r, p, "icon.png", b)
}

// servePNG serves an image file of programme p.
func servePNG(w http.ResponseWriter, r *http.Request, p *loyalty.Program, name string, b []byte) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("ETag", `"`+p.Hash+`"`)
	w.Header().Set("Content-Type", "image/png")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// serveFavicon serves passd's own favicon, for pages of no programme.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(favicon)
}

// joinQR serves a QR code of the program's enrolment page, for posters and
// receipts.
func (s *Server) joinQR(w http.ResponseWriter, r *http.Request) {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return
	}
	size, err := cards.QRSize(r)
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return
	}
	data, err := cards.QRPNG(s.Links.JoinURL(p.ID), size)
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return
	}
	cards.WritePNG(w, data, "public, max-age=86400")
}
