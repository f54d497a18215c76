// Package console serves the merchant console at /console: staff sign in
// with an email and a password (argon2id, internal/loyalty) and see their
// programmes. Sessions are kept on the server (internal/store) behind an
// HttpOnly, SameSite=Lax cookie; every form carries a CSRF token; sign-in
// is throttled per account and per client address.
//
// The pages are server-rendered html/template with an embedded stylesheet
// allowed by its hash, and no script, under a strict Content-Security-Policy,
// like the public pages of internal/web.
package console

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/ratelimit"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
)

// Cookies of the console, both under Path=/console.
const (
	// SessionCookie holds the session id; the store keeps its SHA-256.
	SessionCookie = "passd_console"
	// PreCookie is the browser half of the double-submit CSRF token of
	// the forms shown before sign-in (sign-in, set password).
	PreCookie = "passd_console_pre"
)

// Session lifetimes: a session ends after IdleTimeout without a request,
// and AbsoluteTimeout after sign-in whatever its use.
const (
	IdleTimeout     = 12 * time.Hour
	AbsoluteTimeout = 7 * 24 * time.Hour
	// SetPasswordTTL is how long a set-password link stays valid.
	SetPasswordTTL = 72 * time.Hour
)

// Sign-in throttling: at most AccountFailures failed sign-ins per account
// and AddressFailures per client address in ThrottleWindow.
const (
	AccountFailures = 5
	AddressFailures = 20
	ThrottleWindow  = 15 * time.Minute
)

// MaxFormBytes bounds a console form body.
const MaxFormBytes = 8 << 10

// touchEvery is how stale a session's last-seen time may get before a
// request writes it again.
const touchEvery = time.Minute

const (
	csrfDomain = "passd console csrf v1\x00"
	preDomain  = "passd console pre-session csrf v1\x00"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/console.css
var css string

// Config holds the Server's dependencies.
type Config struct {
	// Deps: Store, Programs, Links and Secret are required; Secret keys
	// the CSRF tokens.
	surface.Deps
	// PublicURL is passd's external base URL; when it is https the
	// cookies are marked Secure.
	PublicURL string
	// PasswordParams are argon2id's costs for new passwords;
	// loyalty.DefaultPasswordParams when zero.
	PasswordParams loyalty.PasswordParams
	// Till answers the JSON API acting as a signed-in staff user
	// (api.Server.Staff): the scanner's lookups and actions run through
	// it. Required.
	Till func(loyalty.StaffUser) http.Handler
	// Export answers a member's export as JSON (the API's); the console
	// offers no export without it.
	Export func(ctx context.Context, memberID string) ([]byte, error)
	// Editor changes programmes (internal/programs); the console offers
	// no programme editor without it.
	Editor ProgramEditor
	// WebhookAllowHTTP is the operator's PASSD_WEBHOOK_ALLOW_HTTP, as the
	// API's: the webhooks page takes plain http URLs only with it.
	WebhookAllowHTTP bool
}

// Server serves the console.
type Server struct {
	surface.Deps
	secureCookies bool
	publicURL     string
	exportJSON    func(ctx context.Context, memberID string) ([]byte, error)
	editor        ProgramEditor
	allowHTTP     bool
	params        loyalty.PasswordParams
	crossOrigin   *http.CrossOriginProtection
	pages         map[string]*template.Template
	cssHash       string
	throttle      *throttle
	held          *heldImages
	dummyOnce     sync.Once
	dummyHash     string
	// Till and scanFiles serve the scanner (scan.go).
	Till      func(loyalty.StaffUser) http.Handler
	scanFiles map[string]scanFile
}

// New returns the console server; it parses the templates.
func New(cfg Config) (*Server, error) {
	deps, err := surface.Complete("console", cfg.Deps)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(css))
	s := &Server{
		Deps:          deps,
		secureCookies: strings.HasPrefix(cfg.PublicURL, "https://"),
		publicURL:     cfg.PublicURL,
		exportJSON:    cfg.Export,
		editor:        cfg.Editor,
		allowHTTP:     cfg.WebhookAllowHTTP,
		params:        cfg.PasswordParams,
		crossOrigin:   http.NewCrossOriginProtection(),
		cssHash:       base64.StdEncoding.EncodeToString(sum[:]),
		throttle:      newThrottle(deps.Store, deps.Now),
		held:          newHeldImages(deps.Now, MaxHeldImages, MaxHeldBytes),
		Till:          cfg.Till,
	}
	if s.Till == nil {
		return nil, errors.New("console: the till (the JSON API as a staff user) is required")
	}
	if s.scanFiles, err = scanFiles(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if s.params == (loyalty.PasswordParams{}) {
		s.params = loyalty.DefaultPasswordParams
	}
	if s.pages, err = htmlpage.Parse(templateFS, "login", "setpassword", "dashboard", "scanner", "error"); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if err := s.parseMerchantPages(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return s, nil
}

// Handler serves the console; mount it at /console.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
	})
	r.Get("/", s.dashboard)
	r.Get("/login", s.loginForm)
	r.Post("/login", s.login)
	r.Post("/logout", s.logout)
	r.Post("/logout-everywhere", s.logoutEverywhere)
	r.Get("/set-password", s.setPasswordForm)
	r.Post("/set-password", s.setPassword)
	s.scanRoutes(r)
	s.merchantRoutes(r)
	return r
}

// page is what every page template gets.
type page struct {
	T      T
	Lang   string
	Title  string
	CSS    template.CSS
	User   *loyalty.StaffUser
	CSRF   string
	Notice string
	Done   string
	// login
	Email string
	// set password
	Token string
	// dashboard
	Programs []programRow
	// Scan is the scanner's (scan.go).
	Scan *scanData
	// csp, when set, replaces the pages' Content-Security-Policy.
	csp string
	// images lets the page show images from passd (img-src 'self'):
	// the editor's preview of an upload.
	images bool
	// status, when set, replaces the status render is given (a failed
	// action's 503, see failure).
	status int
	// Program is the programme of a merchant page (its navigation), View
	// the page's own data.
	Program *programRef
	View    any
}

type programRow struct {
	ID, Name string
	Members  int64
}

func (s *Server) newPage(r *http.Request, titleKey string) *page {
	lang := language(r.Header.Get("Accept-Language"))
	t := T{Lang: lang}
	return &page{T: t, Lang: lang, Title: t.Get(titleKey)}
}

// render writes a page under a CSP that allows only its stylesheet's hash.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, status int, pg *page) {
	pg.CSS = template.CSS(css)
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", pg); err != nil {
		s.Logger.ErrorContext(r.Context(), "render console page", "page", name, "request_id", problem.RequestID(r), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	policy := cmp.Or(pg.csp, "default-src 'none'; style-src 'sha256-"+s.cssHash+
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if pg.images {
		policy += "; img-src 'self'"
	}
	htmlpage.Headers(h, policy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", pg.Lang)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(cmp.Or(pg.status, status))
	_, _ = w.Write(b.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	pg := s.newPage(r, "error_title")
	pg.Notice = pg.T.Get(key)
	s.render(w, r, "error", status, pg)
}

// internalError answers the error page of a request that failed with
// err: 503 while the database is out of reach, else 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Logger.ErrorContext(r.Context(), what, "request_id", problem.RequestID(r), "err", err)
	status, key := htmlpage.Failure(w.Header(), err)
	s.errorPage(w, r, status, key)
}

func (s *Server) mac(domain, value string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte(domain))
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// preToken answers the CSRF token of a pre-sign-in form, setting the
// browser's PreCookie when it has none.
func (s *Server) preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(PreCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return s.mac(preDomain, c.Value)
	}
	v, err := loyalty.NewStaffToken()
	if err != nil {
		// crypto/rand does not fail on supported platforms; a form
		// without a valid token is refused on submission anyway.
		return ""
	}
	s.setCookie(w, r, PreCookie, v, 0)
	return s.mac(preDomain, v)
}

// checkPre checks a pre-sign-in form's origin and CSRF token.
func (s *Server) checkPre(r *http.Request) bool {
	if s.crossOrigin.Check(r) != nil {
		return false
	}
	c, err := r.Cookie(PreCookie)
	return err == nil && c.Value != "" && hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.mac(preDomain, c.Value)))
}

// setCookie sets a console cookie; maxAge < 0 deletes it, 0 makes it last
// the browser session.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/console", MaxAge: maxAge, HttpOnly: true,
		Secure: s.secureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// parseForm reads a POST form of at most MaxFormBytes; on failure it has
// written the answer.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge, "err_too_large")
			return false
		}
		s.errorPage(w, r, http.StatusBadRequest, "err_form_expired")
		return false
	}
	return true
}

// signedIn is a request's valid session.
type signedIn struct {
	id   string // the cookie's value
	sess loyalty.StaffSession
	user loyalty.StaffUser
}

// errSignedOut is a request with no valid session.
var errSignedOut = errors.New("console: not signed in")

// session answers the request's session when it is valid: known, of an
// enabled user, used within IdleTimeout and younger than AbsoluteTimeout;
// else errSignedOut, or the store's failure to read sessions. An expired
// session is deleted.
func (s *Server) session(r *http.Request) (*signedIn, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil, errSignedOut
	}
	ctx := r.Context()
	hash := loyalty.HashKey(c.Value)
	sess, u, err := s.Store.StaffSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("read console session: %w", err)
	}
	now := s.Now()
	if u.DisabledAt != nil || now.Sub(sess.LastSeenAt) > IdleTimeout || now.Sub(sess.CreatedAt) > AbsoluteTimeout {
		if err := s.Store.DeleteStaffSession(ctx, hash); err != nil {
			s.Logger.WarnContext(ctx, "delete expired console session", "request_id", problem.RequestID(r), "err", err)
		}
		return nil, errSignedOut
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := s.Store.TouchStaffSession(ctx, hash, now); err != nil {
			s.Logger.WarnContext(ctx, "touch console session", "request_id", problem.RequestID(r), "err", err)
		}
	}
	return &signedIn{id: c.Value, sess: sess, user: u}, nil
}

// signedInPage answers the session of a page's request, or writes the
// answer: the sign-in page's redirect, or the error page when the store
// could not read sessions.
func (s *Server) signedInPage(w http.ResponseWriter, r *http.Request) (*signedIn, bool) {
	si, err := s.session(r)
	if errors.Is(err, errSignedOut) {
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "read console session", err)
		return nil, false
	}
	return si, true
}

// csrf answers the CSRF token of a signed-in session's forms.
func (s *Server) csrf(si *signedIn) string { return s.mac(csrfDomain, si.id) }

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	si, ok := s.signedInPage(w, r)
	if !ok {
		return
	}
	if !loyalty.RoleIncludes(si.user.Role, loyalty.RoleMerchant) {
		// A pos user has the scanner and nothing else.
		http.Redirect(w, r, "/console/scan", http.StatusSeeOther)
		return
	}
	pg := s.newPage(r, "dashboard_title")
	pg.User, pg.CSRF = &si.user, s.csrf(si)
	ids, err := s.visiblePrograms(r.Context(), si.user)
	if err != nil {
		s.internalError(w, r, "list console programmes", err)
		return
	}
	for _, id := range ids {
		row := programRow{ID: id, Name: id}
		if p, err := s.Programs.Fresh(r.Context(), id, 0); err == nil {
			_, texts := p.Text(pg.Lang)
			row.Name = cmp.Or(texts.ProgramName, id)
		}
		if row.Members, err = s.Store.CountMembers(r.Context(), id); err != nil {
			s.internalError(w, r, "count members", err)
			return
		}
		pg.Programs = append(pg.Programs, row)
	}
	if err := s.soleProgramFigures(w, r, pg); err != nil {
		s.internalError(w, r, "read programme figures", err)
		return
	}
	s.render(w, r, "dashboard", http.StatusOK, pg)
}

// visiblePrograms answers the programmes a user may see: an admin all of
// them, anyone else their own.
func (s *Server) visiblePrograms(ctx context.Context, u loyalty.StaffUser) ([]string, error) {
	if u.Role != loyalty.RoleAdmin {
		return []string{u.Program}, nil
	}
	recs, err := s.Store.Programs(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(recs))
	for i, p := range recs {
		ids[i] = p.ID
	}
	return ids, nil
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.session(r); !errors.Is(err, errSignedOut) {
		if err != nil {
			s.internalError(w, r, "read console session", err)
			return
		}
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return
	}
	pg := s.newPage(r, "login_title")
	switch r.URL.Query().Get("done") {
	case "signed-out":
		pg.Done = pg.T.Get("signed_out")
	case "signed-out-all":
		pg.Done = pg.T.Get("signed_out_all")
	case "password-set":
		pg.Done = pg.T.Get("password_set")
	}
	pg.CSRF = s.preToken(w, r)
	s.render(w, r, "login", http.StatusOK, pg)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	pg := s.newPage(r, "login_title")
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	if len(email) > 254 {
		email = email[:254]
	}
	pg.Email = email
	if !s.checkPre(r) {
		pg.Notice = pg.T.Get("err_form_expired")
		pg.CSRF = s.preToken(w, r)
		s.render(w, r, "login", http.StatusForbidden, pg)
		return
	}
	now := s.Now()
	// The account's bucket is named by a hash of the email: any text fits
	// a bucket's key, and the table holds no email in clear.
	account, address := loyalty.HashKey(email), clientaddr.Key(s.ClientAddr.Addr(r))
	wait, err := s.throttle.take(r.Context(), account, address)
	if err != nil {
		s.internalError(w, r, "console sign-in throttle", err)
		return
	}
	if wait > 0 {
		minutes := int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfter(wait)))
		s.Logger.WarnContext(r.Context(), "console sign-in throttled", "request_id", problem.RequestID(r))
		pg.Notice = fmt.Sprintf(pg.T.Get("err_throttled"), minutes)
		pg.CSRF = s.preToken(w, r)
		s.render(w, r, "login", http.StatusTooManyRequests, pg)
		return
	}
	u, err := s.authenticate(r, email, r.PostForm.Get("password"))
	if err != nil {
		s.throttle.succeeded(account, address)
		s.internalError(w, r, "read staff user", err)
		return
	}
	if u == nil {
		if err := s.throttle.failed(r.Context(), account, address); err != nil {
			s.internalError(w, r, "console sign-in throttle", err)
			return
		}
		s.Logger.InfoContext(r.Context(), "console sign-in refused", "request_id", problem.RequestID(r))
		pg.Notice = pg.T.Get("err_login")
		pg.CSRF = s.preToken(w, r)
		s.render(w, r, "login", http.StatusUnauthorized, pg)
		return
	}
	s.throttle.succeeded(account, address)
	// A new session id at every sign-in, and the old session (if any)
	// ends: an id planted before sign-in is worth nothing after it.
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		_ = s.Store.DeleteStaffSession(r.Context(), loyalty.HashKey(c.Value))
	}
	id, err := loyalty.NewStaffToken()
	if err != nil {
		s.internalError(w, r, "draw console session", err)
		return
	}
	if err := s.Store.CreateStaffSession(r.Context(), loyalty.StaffSession{IDHash: loyalty.HashKey(id), UserID: u.ID, CreatedAt: now, LastSeenAt: now}); err != nil {
		s.internalError(w, r, "create console session", err)
		return
	}
	s.setCookie(w, r, SessionCookie, id, 0)
	s.Logger.InfoContext(r.Context(), "console sign-in", "user_id", u.ID, "request_id", problem.RequestID(r))
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// authenticate answers the enabled user with email and password, nil
// when none, or the store's failure to read users. An unknown email costs
// one argon2id hash too, so the answer's timing does not tell which emails
// have accounts.
func (s *Server) authenticate(r *http.Request, email, password string) (*loyalty.StaffUser, error) {
	// What is not an email address (a NUL, bytes that are not UTF-8) is
	// no one's: it never reaches the store.
	_, err := loyalty.NormalizeStaffEmail(email)
	var u loyalty.StaffUser
	if err == nil {
		u, err = s.Store.StaffUserByEmail(r.Context(), email)
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, loyalty.ErrBadStaffUser) {
			return nil, err
		}
	}
	if err != nil || u.PasswordHash == "" {
		s.dummyOnce.Do(func() { s.dummyHash, _ = loyalty.HashPassword("not a password of anyone", s.params) })
		_, _ = loyalty.CheckPassword(s.dummyHash, password)
		return nil, nil
	}
	ok, err := loyalty.CheckPassword(u.PasswordHash, password)
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "check staff password", "user_id", u.ID, "request_id", problem.RequestID(r), "err", err)
		return nil, nil
	}
	if !ok || u.DisabledAt != nil {
		return nil, nil
	}
	return &u, nil
}

// signedInPost answers the session of a signed-in form POST whose origin
// and CSRF token check out; otherwise it has written the answer.
func (s *Server) signedInPost(w http.ResponseWriter, r *http.Request) (*signedIn, bool) {
	if !s.parseForm(w, r) {
		return nil, false
	}
	si, ok := s.signedInPage(w, r)
	if !ok {
		return nil, false
	}
	if s.crossOrigin.Check(r) != nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrf(si))) {
		s.errorPage(w, r, http.StatusForbidden, "err_form_expired")
		return nil, false
	}
	return si, true
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	si, ok := s.signedInPost(w, r)
	if !ok {
		return
	}
	if err := s.Store.DeleteStaffSession(r.Context(), si.sess.IDHash); err != nil {
		s.internalError(w, r, "end console session", err)
		return
	}
	s.setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/console/login?done=signed-out", http.StatusSeeOther)
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	si, ok := s.signedInPost(w, r)
	if !ok {
		return
	}
	n, err := s.Store.DeleteStaffSessions(r.Context(), si.user.ID)
	if err != nil {
		s.internalError(w, r, "end console sessions", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console sessions ended", "user_id", si.user.ID, "sessions", n, "request_id", problem.RequestID(r))
	s.setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/console/login?done=signed-out-all", http.StatusSeeOther)
}

func (s *Server) setPasswordForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	ok, err := s.Store.StaffPasswordTokenValid(r.Context(), loyalty.HashKey(token))
	if err != nil {
		s.internalError(w, r, "read set-password link", err)
		return
	}
	if token == "" || !ok {
		s.errorPage(w, r, http.StatusNotFound, "err_link")
		return
	}
	pg := s.newPage(r, "setpw_title")
	pg.Token, pg.CSRF = token, s.preToken(w, r)
	s.render(w, r, "setpassword", http.StatusOK, pg)
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	pg := s.newPage(r, "setpw_title")
	pg.Token = r.PostForm.Get("token")
	password := r.PostForm.Get("password")
	switch {
	case !s.checkPre(r):
		pg.Notice = pg.T.Get("err_form_expired")
	case errors.Is(loyalty.ValidatePassword(password), loyalty.ErrPasswordTooShort):
		pg.Notice = pg.T.Get("err_pw_short")
	case errors.Is(loyalty.ValidatePassword(password), loyalty.ErrPasswordTooLong):
		pg.Notice = pg.T.Get("err_pw_long")
	case password != r.PostForm.Get("confirm"):
		pg.Notice = pg.T.Get("err_pw_mismatch")
	}
	if pg.Notice != "" {
		pg.CSRF = s.preToken(w, r)
		s.render(w, r, "setpassword", http.StatusUnprocessableEntity, pg)
		return
	}
	phc, err := loyalty.HashPassword(password, s.params)
	if err != nil {
		s.internalError(w, r, "hash staff password", err)
		return
	}
	u, err := s.Store.UseStaffPasswordToken(r.Context(), loyalty.HashKey(pg.Token), phc)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "err_link")
		return
	}
	if err != nil {
		s.internalError(w, r, "set staff password", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "staff password set", "user_id", u.ID, "request_id", problem.RequestID(r))
	s.setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/console/login?done=password-set", http.StatusSeeOther)
}

// SetPasswordLink makes a one-time set-password link of a user, valid for
// SetPasswordTTL from now, under publicURL; only its hash is stored. It
// is how a new user chooses a password and how an admin resets one.
func SetPasswordLink(ctx context.Context, st *store.Store, publicURL, userID string, now time.Time) (string, error) {
	token, err := loyalty.NewStaffToken()
	if err != nil {
		return "", err
	}
	if err := st.CreateStaffPasswordToken(ctx, userID, loyalty.HashKey(token), now.Add(SetPasswordTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(publicURL, "/") + "/console/set-password?token=" + token, nil
}
