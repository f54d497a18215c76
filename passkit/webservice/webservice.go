package webservice

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is what Backend methods return (wrapped or not) when the
// pass, or for Unregister the registration, does not exist.
var ErrNotFound = errors.New("webservice: not found")

// Backend is the storage behind the web service, for one pass type
// identifier. passd implements it on its store. Every method gets the
// request's context.
type Backend interface {
	// PassAuth returns the authenticationToken stored for serial, with
	// found false (and a nil error) for an unknown serial. The handler
	// compares it with the request's token in constant time.
	PassAuth(ctx context.Context, serial string) (token string, found bool, err error)
	// Register records that deviceID wants pushes at pushToken for serial:
	// it upserts the device's push token (a device re-registering with a
	// new token replaces the old one) and the registration. created
	// reports a new registration.
	Register(ctx context.Context, deviceID, pushToken, serial string) (created bool, err error)
	// Unregister removes the registration of deviceID for serial, and the
	// device once it has none left. An unknown registration may return
	// ErrNotFound; the handler answers 200 either way.
	Unregister(ctx context.Context, deviceID, serial string) error
	// UpdatedSerials returns the serials deviceID is registered for that
	// changed after the tag since ("" means all of them), and the tag to
	// give next time. An unknown device has no serials. Tags are opaque
	// strings: the backend must keep one format and order them.
	UpdatedSerials(ctx context.Context, deviceID, since string) (serials []string, lastUpdated string, err error)
	// LatestPass returns serial's current pass, or ErrNotFound: its
	// authentication token and modified time, read together, and how to
	// build it. The handler checks the token and If-Modified-Since before
	// it calls Pass.Bundle, so neither a wrong token nor a 304 costs a
	// signature, and a fetch reads the pass's state once.
	LatestPass(ctx context.Context, serial string) (Pass, error)
}

// Pass is the current version of a pass, as [Backend.LatestPass] answers
// it.
type Pass struct {
	// AuthToken is the pass's authenticationToken.
	AuthToken string
	// Modified is when the pass last changed. Two versions must have
	// modified times at least a second apart: HTTP dates have one-second
	// precision, and a device holding the older version would otherwise
	// get 304 for the newer one.
	Modified time.Time
	// Bundle answers the signed .pkpass of this version; it must be set.
	Bundle func(ctx context.Context) ([]byte, error)
}

// Defaults for the zero values of Config.
const (
	DefaultMaxLogMessages = 20
	DefaultMaxLogBytes    = 8 << 10
)

// Limits on what the handler reads and accepts.
const (
	// maxIDLength bounds device library identifiers, serial numbers and
	// pass type identifiers; Apple asks to keep them short, since they
	// all end up in URLs.
	maxIDLength = 128
	// maxTagLength bounds passesUpdatedSince.
	maxTagLength = 128
	// maxPushTokenLength bounds a push token in hex characters.
	maxPushTokenLength = 200
	// maxRegisterBody bounds the registration body ({"pushToken": ...}).
	maxRegisterBody = 4 << 10
	// maxLogBody bounds the body of a log request.
	maxLogBody = 64 << 10
	// maxLogMessageBytes truncates each logged device message.
	maxLogMessageBytes = 1 << 10
	// logBurst and logRefill rate-limit the log endpoint: that many
	// requests at once, then logRefill per second. Requests over the
	// limit still get 200, so Wallet does not retry them, but are
	// dropped.
	logBurst  = 30
	logRefill = 5
)

// Config configures a Handler. Backend and PassTypeID are required.
type Config struct {
	// Backend stores registrations and passes.
	Backend Backend
	// PassTypeID is the pass type identifier served; requests for any
	// other get 404.
	PassTypeID string
	// Prefix is where the handler is mounted (e.g. "/passkit"). When the
	// request path still starts with it, the handler strips it; so the
	// handler works behind http.StripPrefix, which strips it already,
	// and under chi's Mount, which does not.
	Prefix string
	// Logger receives device log messages and 5xx causes
	// (slog.DiscardHandler when nil).
	Logger *slog.Logger
	// MaxLogMessages bounds the messages logged per log request
	// (DefaultMaxLogMessages when zero).
	MaxLogMessages int
	// MaxLogBytes bounds the bytes logged per log request, over all its
	// messages (DefaultMaxLogBytes when zero).
	MaxLogBytes int
	// Now is the clock of the log endpoint's rate limit (time.Now when
	// nil).
	Now func() time.Time
	// Unavailable, when set, tells a Backend error that is a moment's
	// outage of its storage: it answers the seconds Wallet should wait,
	// and the handler answers 503 with that Retry-After instead of 500.
	// It answers 0 for any other error.
	Unavailable func(error) int
}

// Handler serves the PassKit web service. Create it with New.
type Handler struct {
	backend  Backend
	passType string
	prefix   string
	log      *slog.Logger
	maxMsgs  int
	maxBytes int
	now      func() time.Time
	mux      *http.ServeMux
	// unavailable is Config.Unavailable.
	unavailable func(error) int

	limitMu    sync.Mutex
	logTokens  float64
	logUpdated time.Time
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg. It panics if Backend or PassTypeID is
// missing, which is a programming error.
func New(cfg Config) *Handler {
	if cfg.Backend == nil || cfg.PassTypeID == "" {
		panic("webservice: Config.Backend and Config.PassTypeID are required")
	}
	h := &Handler{
		backend:   cfg.Backend,
		passType:  cfg.PassTypeID,
		prefix:    strings.TrimRight(path.Clean("/"+cfg.Prefix), "/"),
		log:       cfg.Logger,
		maxMsgs:   cfg.MaxLogMessages,
		maxBytes:  cfg.MaxLogBytes,
		now:       cfg.Now,
		logTokens: logBurst,

		unavailable: cfg.Unavailable,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxMsgs <= 0 {
		h.maxMsgs = DefaultMaxLogMessages
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxLogBytes
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.mux = http.NewServeMux()
	h.routes(h.mux)
	return h
}

// routes declares every endpoint, relative to the webServiceURL.
func (h *Handler) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/devices/{device}/registrations/{passType}/{serial}", h.register)
	mux.HandleFunc("DELETE /v1/devices/{device}/registrations/{passType}/{serial}", h.unregister)
	mux.HandleFunc("GET /v1/devices/{device}/registrations/{passType}", h.updatedSerials)
	mux.HandleFunc("GET /v1/passes/{passType}/{serial}", h.latestPass) // and HEAD
	mux.HandleFunc("POST /v1/log", h.logMessages)
	// Anything else: ServeMux answers 404, or 405 with Allow.
}

// ServeHTTP normalizes the path (doubled and trailing slashes, the mount
// prefix) and dispatches to the endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + r.URL.Path) // collapses "//", drops a trailing "/"
	if h.prefix != "" && h.prefix != "/" {
		if rest, ok := strings.CutPrefix(p, h.prefix); ok && (rest == "" || rest[0] == '/') {
			p = "/" + strings.TrimPrefix(rest, "/")
		}
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	h.mux.ServeHTTP(w, r2)
}

// register handles POST .../registrations/{passType}/{serial}.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	device, serial, ok := h.deviceAndSerial(w, r)
	if !ok || !h.authorize(w, r, serial) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRegisterBody)
	var body struct {
		PushToken string `json:"pushToken"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge)
			return
		}
		fail(w, http.StatusBadRequest)
		return
	}
	if !validPushToken(body.PushToken) {
		fail(w, http.StatusBadRequest)
		return
	}
	created, err := h.backend.Register(r.Context(), device, body.PushToken, serial)
	switch {
	case errors.Is(err, ErrNotFound):
		// The pass went away between the token check and now.
		fail(w, http.StatusUnauthorized)
		return
	case err != nil:
		h.internal(w, r, "register", err)
		return
	}
	if created {
		text(w, http.StatusCreated)
		return
	}
	text(w, http.StatusOK)
}

// unregister handles DELETE .../registrations/{passType}/{serial}.
func (h *Handler) unregister(w http.ResponseWriter, r *http.Request) {
	device, serial, ok := h.deviceAndSerial(w, r)
	if !ok || !h.authorize(w, r, serial) {
		return
	}
	if err := h.backend.Unregister(r.Context(), device, serial); err != nil && !errors.Is(err, ErrNotFound) {
		h.internal(w, r, "unregister", err)
		return
	}
	text(w, http.StatusOK)
}

// updatedSerials handles GET /v1/devices/{device}/registrations/{passType}.
// Apple sends no Authorization here: the device library identifier is the
// secret.
func (h *Handler) updatedSerials(w http.ResponseWriter, r *http.Request) {
	device := r.PathValue("device")
	if !h.passTypeOK(w, r) {
		return
	}
	if !validID(device) {
		fail(w, http.StatusNotFound)
		return
	}
	since := r.URL.Query().Get("passesUpdatedSince")
	if len(since) > maxTagLength || strings.ContainsFunc(since, isControl) {
		fail(w, http.StatusBadRequest)
		return
	}
	serials, last, err := h.backend.UpdatedSerials(r.Context(), device, since)
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.internal(w, r, "updated serials", err)
		return
	}
	if len(serials) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := json.Marshal(struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   string   `json:"lastUpdated"`
	}{serials, last})
	if err != nil {
		h.internal(w, r, "updated serials", fmt.Errorf("encode: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// latestPass handles GET (and HEAD) /v1/passes/{passType}/{serial}.
func (h *Handler) latestPass(w http.ResponseWriter, r *http.Request) {
	if !h.passTypeOK(w, r) {
		return
	}
	serial := r.PathValue("serial")
	if !validID(serial) {
		fail(w, http.StatusUnauthorized)
		return
	}
	pass, err := h.backend.LatestPass(r.Context(), serial)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.internal(w, r, "latest pass", err)
		return
	}
	if !tokenMatches(r, pass.AuthToken, found) {
		fail(w, http.StatusUnauthorized)
		return
	}
	hdr := w.Header()
	// Private and revalidated: no shared cache may hand one member's pass
	// to another or answer for If-Modified-Since.
	hdr.Set("Cache-Control", "private, no-cache")
	if modified := pass.Modified; !modified.IsZero() {
		modified = modified.UTC().Truncate(time.Second)
		hdr.Set("Last-Modified", modified.Format(http.TimeFormat))
		if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modified.After(ims) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	pkpass, err := pass.Bundle(r.Context())
	if err != nil {
		hdr.Del("Last-Modified")
		h.internal(w, r, "build pass", err)
		return
	}
	hdr.Set("Content-Type", "application/vnd.apple.pkpass")
	hdr.Set("Content-Length", strconv.Itoa(len(pkpass)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pkpass)
	}
}

// deviceAndSerial reads and checks the path of the registration endpoints.
// A malformed serial answers 401 like an unknown one.
func (h *Handler) deviceAndSerial(w http.ResponseWriter, r *http.Request) (device, serial string, ok bool) {
	if !h.passTypeOK(w, r) {
		return "", "", false
	}
	device, serial = r.PathValue("device"), r.PathValue("serial")
	if !validID(device) {
		fail(w, http.StatusNotFound)
		return "", "", false
	}
	if !validID(serial) {
		fail(w, http.StatusUnauthorized)
		return "", "", false
	}
	return device, serial, true
}

// passTypeOK answers 404 for a pass type identifier other than ours.
func (h *Handler) passTypeOK(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("passType") != h.passType {
		fail(w, http.StatusNotFound)
		return false
	}
	return true
}

// authorize checks "Authorization: ApplePass <token>" against the token
// stored for serial and answers 401 when it does not match. The stored and
// presented tokens are hashed first, so the comparison takes the same time
// whatever their lengths and contents; an unknown serial is compared too.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, serial string) bool {
	stored, found, err := h.backend.PassAuth(r.Context(), serial)
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.internal(w, r, "pass auth", err)
		return false
	}
	if !tokenMatches(r, stored, found && err == nil) {
		fail(w, http.StatusUnauthorized)
		return false
	}
	return true
}

// tokenMatches reports whether the request's "ApplePass" token is stored,
// the token of a pass that was found, comparing in constant time whether
// or not it was.
func tokenMatches(r *http.Request, stored string, found bool) bool {
	presented, hasToken := applePassToken(r.Header.Get("Authorization"))
	got := sha256.Sum256([]byte(presented))
	want := sha256.Sum256([]byte(stored))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	return match && hasToken && found && stored != ""
}

// applePassToken extracts the token of "ApplePass <token>".
func applePassToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "ApplePass") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// internal answers 500 and logs the cause, without tokens; a moment's
// outage of the backend's storage (Config.Unavailable) answers 503 with a
// Retry-After, which Wallet honours.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "passkit web service failed",
		slog.String("op", op),
		slog.String("method", r.Method),
		slog.String("pass_type_id", h.passType),
		slog.String("serial", r.PathValue("serial")),
		slog.String("device", redact(r.PathValue("device"))),
		slog.String("err", err.Error()))
	if h.unavailable != nil {
		if retry := h.unavailable(err); retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			fail(w, http.StatusServiceUnavailable)
			return
		}
	}
	fail(w, http.StatusInternalServerError)
}

// fail answers status with its text, which Wallet ignores.
func fail(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// text answers a success status with its text.
func text(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, http.StatusText(status))
}

// validID accepts device library identifiers and serial numbers: 1 to
// maxIDLength of letters, digits and "-._~:" (UUIDs, Apple's hex device
// ids, and dotted or colon-separated serials).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == ':':
		default:
			return false
		}
	}
	return s != "." && s != ".."
}

// validPushToken accepts an APNs device token: hex, at most
// maxPushTokenLength characters.
func validPushToken(s string) bool {
	if s == "" || len(s) > maxPushTokenLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// redact keeps the first 8 characters of a secret-ish identifier, enough
// to correlate log lines.
func redact(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:8] + "…"
}
