package console

// The staff scanner at /console/scan: a page for a phone's browser that
// reads a member's card with the camera (or takes the code typed in),
// shows the member and posts an earn, a stamp, a redemption or a voucher's
// use. Every lookup and action runs through the JSON API's own handlers
// (Config.Till) as the signed-in staff user, so the scanner decides no
// rule of its own: it checks the session and the CSRF token, hands the
// request on, and shows the answer.

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// scanRoutes declares the scanner's routes under /console.
func (s *Server) scanRoutes(r chi.Router) {
	r.Get("/scan", s.scanPage)
	r.Post("/scan", s.scanLookup)
	r.Post("/scan/members/{id}/{action}", s.scanAction)
	r.Get("/scan/{asset}", s.scanAsset)
}

// scanData is what the scanner page shows.
type scanData struct {
	// Barcode is the manual entry's value after a failed lookup.
	Barcode string
	// Member is the scanned member; nil before a scan.
	Member *scanMember
	// Message is the feedback of the last action that succeeded.
	Message string
}

// scanMember is a member as the scanner shows it, with the forms' fresh
// idempotency keys (the page's script replaces them with keys made on the
// phone; without script these stand in).
type scanMember struct {
	// api is the member as the API answered, as far as the scanner reads it.
	api                             apiMember
	ID, Program, Name, Tier, Number string
	Points                          int64
	Stamps                          *stampsView
	Cashback                        string
	AmountHint                      string
	EarnKey, StampKey               string
	Rewards                         []scanReward
	Vouchers                        []scanVoucher
}

type stampsView struct{ Count, Goal int64 }

type scanReward struct {
	ID, Name, Key string
	Cost          int64
}

type scanVoucher struct {
	Code, Name, Expires, Key string
}

// The JSON API's answers, as far as the scanner reads them.
type (
	apiMember struct {
		ID      string `json:"id"`
		Program string `json:"program"`
		Number  string `json:"number"`
		Name    string `json:"name"`
		Points  int64  `json:"points"`
		Tier    string `json:"tier"`
		Stamps  *struct {
			Count int64 `json:"count"`
			Goal  int64 `json:"goal"`
		} `json:"stamps"`
		Cashback *struct {
			Balance  int64  `json:"balance"`
			Currency string `json:"currency"`
		} `json:"cashback"`
	}
	apiReward struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		CostPoints int64  `json:"cost_points"`
		Active     bool   `json:"active"`
	}
	apiVoucher struct {
		Code      string `json:"code"`
		RewardID  string `json:"reward_id"`
		Status    string `json:"status"`
		ExpiresAt string `json:"expires_at"`
	}
	apiList[T any] struct {
		Items []T `json:"items"`
	}
)

// tillAnswer is one JSON API answer to a request the scanner handed on.
type tillAnswer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *tillAnswer) Header() http.Header { return a.header }

func (a *tillAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *tillAnswer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

// ok reports a 2xx answer.
func (a *tillAnswer) ok() bool { return a.status >= 200 && a.status < 300 }

// decode reads a 2xx answer's body into v.
func (a *tillAnswer) decode(v any) error {
	if err := json.Unmarshal(a.body.Bytes(), v); err != nil {
		return fmt.Errorf("read the API's answer: %w", err)
	}
	return nil
}

// problem reads a failed answer's problem.
func (a *tillAnswer) problem() *problem.Problem {
	var p problem.Problem
	if err := json.Unmarshal(a.body.Bytes(), &p); err != nil || p.Code == "" {
		return problem.New(cmp.Or(a.status, http.StatusInternalServerError), problem.CodeInternal, "")
	}
	p.Status = a.status
	if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil {
		p.RetryAfter = ra
	}
	return &p
}

// failed is a till answer that was not a success, as an error.
type failed struct{ p *problem.Problem }

func (f failed) Error() string { return "till: " + f.p.Code }

// till hands one request on to the JSON API as the signed-in user: method
// on path (the API's, without /api/v1) with body as JSON and, when key is
// set, that Idempotency-Key. A failed answer is a failed error.
func (s *Server) till(r *http.Request, u loyalty.StaffUser, method, path, key string, body any) (*tillAnswer, error) {
	var in bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&in).Encode(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, &in)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = r.RemoteAddr
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	a := &tillAnswer{header: http.Header{}}
	s.Till(u).ServeHTTP(a, req)
	if !a.ok() {
		return a, failed{a.problem()}
	}
	return a, nil
}

// tillGet reads path of the JSON API as the signed-in user into v.
func (s *Server) tillGet(r *http.Request, u loyalty.StaffUser, path string, v any) error {
	a, err := s.till(r, u, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	return a.decode(v)
}

// wantsJSON reports a request of the page's script, which takes JSON and
// problem details; a form posted without script gets a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) scanPage(w http.ResponseWriter, r *http.Request) {
	si, ok := s.signedInPage(w, r)
	if !ok {
		return
	}
	s.renderScan(w, r, si, http.StatusOK, &scanData{}, "")
}

// scanPost answers the session of a scanner POST whose origin and CSRF
// token check out; otherwise it has answered (a problem for the script, a
// page or a redirect for a plain form).
func (s *Server) scanPost(w http.ResponseWriter, r *http.Request) (*signedIn, bool) {
	if !wantsJSON(r) {
		return s.signedInPost(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = problem.Status(http.StatusBadRequest, "the form could not be read")
		}
		problem.Write(w, r, s.Logger, err)
		return nil, false
	}
	lang := language(r.Header.Get("Accept-Language"))
	si, err := s.session(r)
	if errors.Is(err, errSignedOut) {
		problem.Write(w, r, s.Logger, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, T{Lang: lang}.Get("err_scan_signed_out")))
		return nil, false
	}
	if err != nil {
		problem.Write(w, r, s.Logger, err)
		return nil, false
	}
	if s.crossOrigin.Check(r) != nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrf(si))) {
		problem.Write(w, r, s.Logger, problem.New(http.StatusForbidden, problem.CodeForbidden, T{Lang: lang}.Get("err_form_expired")))
		return nil, false
	}
	return si, true
}

// scanLookup finds the member of a scanned or typed code.
func (s *Server) scanLookup(w http.ResponseWriter, r *http.Request) {
	si, ok := s.scanPost(w, r)
	if !ok {
		return
	}
	code := r.PostForm.Get("barcode")
	a, err := s.till(r, si.user, http.MethodPost, "/pos/scan", "", map[string]string{"barcode": code})
	if err != nil {
		s.scanFailed(w, r, si, &scanData{Barcode: code}, "", err)
		return
	}
	var m apiMember
	if err := a.decode(&m); err != nil {
		s.scanFailed(w, r, si, &scanData{Barcode: code}, "", err)
		return
	}
	s.scanDone(w, r, si, m.ID, "", false, a)
}

// scanAction posts one action on a scanned member: earn (amount in the
// programme's currency), stamp, redeem (reward) or use (voucher).
func (s *Server) scanAction(w http.ResponseWriter, r *http.Request) {
	si, ok := s.scanPost(w, r)
	if !ok {
		return
	}
	id, action, key := chi.URLParam(r, "id"), chi.URLParam(r, "action"), r.PostForm.Get("key")
	var m apiMember
	if err := s.tillGet(r, si.user, "/members/"+url.PathEscape(id), &m); err != nil {
		s.scanFailed(w, r, si, &scanData{}, "", err)
		return
	}
	var a *tillAnswer
	var err error
	reference := "console:" + si.user.ID
	switch action {
	case "earn":
		a, err = s.scanEarn(r, si, m, key, reference)
	case "stamp":
		a, err = s.till(r, si.user, http.MethodPost, "/members/"+m.ID+"/transactions", key,
			map[string]any{"type": balances.Stamp, "count": 1, "reference": reference})
	case "redeem":
		a, err = s.till(r, si.user, http.MethodPost, "/members/"+m.ID+"/redemptions", key,
			map[string]string{"reward_id": r.PostForm.Get("reward")})
	case "use":
		a, err = s.till(r, si.user, http.MethodPost, "/vouchers/"+url.PathEscape(r.PostForm.Get("voucher"))+"/use", key, nil)
	default:
		err = failed{problem.New(http.StatusNotFound, problem.CodeNotFound, "no such scanner action")}
	}
	if err != nil {
		s.scanFailed(w, r, si, &scanData{}, m.ID, err)
		return
	}
	s.scanDone(w, r, si, m.ID, action, a.header.Get("Idempotent-Replayed") == "true", a)
}

// scanEarn posts an earn on the amount typed, in the currency of the
// member's programme.
func (s *Server) scanEarn(r *http.Request, si *signedIn, m apiMember, key, reference string) (*tillAnswer, error) {
	p, err := s.Programs.Get(m.Program)
	if err != nil {
		return nil, err
	}
	minor, err := balances.ParseAmount("amount", r.PostForm.Get("amount"), p.Earn.MinorPerUnit)
	if err != nil {
		return nil, err
	}
	return s.till(r, si.user, http.MethodPost, "/members/"+m.ID+"/transactions", key,
		map[string]any{"type": balances.Earn, "amount": minor, "reference": reference})
}

// scanOutcome is the script's answer to a lookup or an action that
// succeeded: the feedback, the member as they are now (only what the
// scanner shows: a phone needs no email or birthday), the API's
// transaction or voucher when the action made one, and the member panel
// as the page draws it.
type scanOutcome struct {
	Message     string          `json:"message"`
	Replayed    bool            `json:"replayed"`
	Member      apiMember       `json:"member"`
	Transaction json.RawMessage `json:"transaction,omitempty"`
	Voucher     json.RawMessage `json:"voucher,omitempty"`
	Panel       string          `json:"panel"`
}

// scanDone answers a lookup or an action that succeeded with the member
// as they are now.
func (s *Server) scanDone(w http.ResponseWriter, r *http.Request, si *signedIn, memberID, action string, replayed bool, a *tillAnswer) {
	t := T{Lang: language(r.Header.Get("Accept-Language"))}
	d := &scanData{}
	member, err := s.memberView(r, si.user, memberID, t.Lang)
	if err != nil {
		s.scanFailed(w, r, si, d, "", err)
		return
	}
	d.Member = member
	d.Message = s.scanMessage(t, action, replayed, a)
	if !wantsJSON(r) {
		s.renderScan(w, r, si, http.StatusOK, d, "")
		return
	}
	panel, err := s.scanPanel(r, si, d)
	if err != nil {
		s.internalError(w, r, "render scanner panel", err)
		return
	}
	status := http.StatusOK
	if action != "" && !replayed {
		status = http.StatusCreated
	}
	out := scanOutcome{Message: d.Message, Replayed: replayed, Member: member.api, Panel: panel}
	switch action {
	case "earn", "stamp", "redeem":
		var made struct{ Transaction, Voucher json.RawMessage }
		_ = a.decode(&made)
		out.Transaction, out.Voucher = made.Transaction, made.Voucher
	case "use":
		out.Voucher = a.body.Bytes()
	}
	problem.JSON(w, status, out)
}

// scanMessage is the feedback of a lookup or an action that succeeded.
func (s *Server) scanMessage(t T, action string, replayed bool, a *tillAnswer) string {
	var msg string
	switch action {
	case "":
		return t.Get("scan_found")
	case "earn":
		var res struct {
			Transaction struct {
				Points int64 `json:"points"`
			} `json:"transaction"`
		}
		_ = a.decode(&res)
		msg = fmt.Sprintf(t.Get("scan_earned"), res.Transaction.Points)
	case "stamp":
		msg = t.Get("scan_stamped")
	case "redeem":
		var res struct {
			Voucher struct {
				Code string `json:"code"`
			} `json:"voucher"`
		}
		_ = a.decode(&res)
		msg = fmt.Sprintf(t.Get("scan_redeemed"), res.Voucher.Code)
	case "use":
		msg = t.Get("scan_used")
	}
	if replayed {
		msg = t.Get("scan_replayed") + " " + msg
	}
	return msg
}

// memberView reads a member, their active rewards and unused vouchers
// through the API, as the scanner shows them.
func (s *Server) memberView(r *http.Request, u loyalty.StaffUser, id, lang string) (*scanMember, error) {
	var m apiMember
	var rewards apiList[apiReward]
	var vouchers apiList[apiVoucher]
	if err := s.tillGet(r, u, "/members/"+url.PathEscape(id), &m); err != nil {
		return nil, err
	}
	if err := s.tillGet(r, u, "/programs/"+url.PathEscape(m.Program)+"/rewards", &rewards); err != nil {
		return nil, err
	}
	if err := s.tillGet(r, u, "/members/"+url.PathEscape(m.ID)+"/vouchers", &vouchers); err != nil {
		return nil, err
	}
	p, err := s.Programs.Get(m.Program)
	if err != nil {
		return nil, err
	}
	minor := p.Earn.MinorPerUnit
	sm := &scanMember{api: m, ID: m.ID, Program: m.Program, Name: m.Name, Tier: m.Tier, Number: m.Number, Points: m.Points,
		AmountHint: cards.FormatMoney(1250*max(minor, 1)/100, minor, p.Currency, lang),
		EarnKey:    uuid.NewString(), StampKey: uuid.NewString()}
	if m.Stamps != nil {
		sm.Stamps = &stampsView{Count: m.Stamps.Count, Goal: m.Stamps.Goal}
	}
	if m.Cashback != nil {
		sm.Cashback = cards.FormatMoney(m.Cashback.Balance, minor, m.Cashback.Currency, lang)
	}
	names := map[string]string{}
	for _, rw := range rewards.Items {
		names[rw.ID] = rw.Name
		if rw.Active {
			sm.Rewards = append(sm.Rewards, scanReward{ID: rw.ID, Name: rw.Name, Cost: rw.CostPoints, Key: uuid.NewString()})
		}
	}
	for _, v := range vouchers.Items {
		if v.Status == "unused" {
			sm.Vouchers = append(sm.Vouchers, scanVoucher{Code: v.Code, Name: names[v.RewardID],
				Expires: v.ExpiresAt[:min(len(v.ExpiresAt), len("2006-01-02"))], Key: uuid.NewString()})
		}
	}
	return sm, nil
}

// scanWords are the plain words of the scanner's failures, by problem code.
var scanWords = map[string]string{
	problem.CodeInvalidBarcode:         "err_scan_invalid_barcode",
	problem.CodeNotFound:               "err_scan_not_found",
	problem.CodeForbidden:              "err_scan_forbidden",
	problem.CodeUnauthorized:           "err_scan_signed_out",
	problem.CodeInsufficientPoints:     "err_scan_insufficient_points",
	problem.CodeVoucherUsed:            "err_scan_voucher_used",
	problem.CodeVoucherExpired:         "err_scan_voucher_expired",
	problem.CodeRewardUnavailable:      "err_scan_reward_unavailable",
	problem.CodeTierRequired:           "err_scan_tier_required",
	problem.CodeRateLimited:            "err_scan_rate_limited",
	problem.CodeRequestInProgress:      "err_scan_in_progress",
	problem.CodeIdempotencyConflict:    "err_scan_key_reused",
	problem.CodeIdempotencyKeyRequired: "err_scan_no_key",
	problem.CodeValidationFailed:       "err_scan_invalid",
}

// scanFailed answers a lookup or an action that failed: the problem with
// its detail in plain words for the script, the page with the notice for
// a plain form (with the member, when there is one, as they are now).
func (s *Server) scanFailed(w http.ResponseWriter, r *http.Request, si *signedIn, d *scanData, memberID string, err error) {
	var f failed
	var ve *balances.ValidationError
	var p *problem.Problem
	switch {
	case errors.As(err, &f):
		p = f.p
	case errors.As(err, &ve):
		p = problem.From(err)
	default:
		s.Logger.ErrorContext(r.Context(), "console scanner", "request_id", problem.RequestID(r), "err", err)
		p = problem.New(http.StatusInternalServerError, problem.CodeInternal, "")
	}
	t := T{Lang: language(r.Header.Get("Accept-Language"))}
	// Words of the scanner's own where it has them; otherwise the API's
	// detail, but never a server error's.
	detail := p.Detail
	if key, ok := scanWords[p.Code]; ok {
		detail = t.Get(key)
	} else if p.Status >= 500 || detail == "" {
		detail = t.Get("err_internal")
	}
	switch p.Code {
	case problem.CodeRateLimited:
		detail = fmt.Sprintf(detail, max(p.RetryAfter, 1))
	case problem.CodeValidationFailed:
		fields := make([]string, len(p.Errors))
		for i, e := range p.Errors {
			fields[i] = e.Message
		}
		detail += " " + strings.Join(fields, "; ")
	}
	p.Detail = detail
	if wantsJSON(r) {
		problem.Write(w, r, s.Logger, p)
		return
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if memberID != "" {
		if m, err := s.memberView(r, si.user, memberID, t.Lang); err == nil {
			d.Member = m
		}
	}
	s.renderScan(w, r, si, p.Status, d, p.Detail)
}

// scanPanel renders the member panel alone, for the page's script.
func (s *Server) scanPanel(r *http.Request, si *signedIn, d *scanData) (string, error) {
	pg := s.scanPageData(r, si, d, "")
	var b bytes.Buffer
	if err := s.pages["scanner"].ExecuteTemplate(&b, "scan-panel", pg); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (s *Server) scanPageData(r *http.Request, si *signedIn, d *scanData, notice string) *page {
	pg := s.newPage(r, "scanner_title")
	pg.User, pg.CSRF, pg.Scan, pg.Notice = &si.user, s.csrf(si), d, notice
	pg.csp = "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-" + s.cssHash +
		"'; img-src 'self'; connect-src 'self'; manifest-src 'self'" +
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return pg
}

func (s *Server) renderScan(w http.ResponseWriter, r *http.Request, si *signedIn, status int, d *scanData, notice string) {
	s.render(w, r, "scanner", status, s.scanPageData(r, si, d, notice))
}

// scanAsset serves the scanner's script, stylesheet, decoder, manifest and
// icons. None is personal, so none needs a session: a browser fetches the
// manifest and its icons without cookies.
func (s *Server) scanAsset(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "asset")
	if name == "manifest.webmanifest" {
		s.scanManifest(w, r)
		return
	}
	a, ok := s.scanFiles[name]
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// scanManifest answers the web app manifest that makes the scanner
// installable, in the browser's language.
func (s *Server) scanManifest(w http.ResponseWriter, r *http.Request) {
	t := T{Lang: language(r.Header.Get("Accept-Language"))}
	type icon struct {
		Src     string `json:"src"`
		Sizes   string `json:"sizes"`
		Type    string `json:"type"`
		Purpose string `json:"purpose"`
	}
	m := map[string]any{
		"id": "/console/scan", "name": t.Get("scan_app_name"), "short_name": t.Get("scanner_title"),
		"lang": t.Lang, "start_url": "/console/scan", "scope": "/console/", "display": "standalone",
		"orientation": "portrait", "background_color": scanBackground, "theme_color": scanTheme,
		"icons": []icon{
			{Src: "/console/scan/icon-192.png", Sizes: "192x192", Type: "image/png", Purpose: "any maskable"},
			{Src: "/console/scan/icon-512.png", Sizes: "512x512", Type: "image/png", Purpose: "any maskable"},
		},
	}
	b, err := json.Marshal(m)
	if err != nil {
		s.internalError(w, r, "scanner manifest", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/manifest+json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Language")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// The scanner's colours: the console's header and page background.
const (
	scanTheme      = "#1d1d1f"
	scanBackground = "#f5f4f2"
)
