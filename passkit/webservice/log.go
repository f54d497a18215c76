package webservice

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// secretish matches what may be a secret in a device's log message: the
// token after "ApplePass", and long runs of letters and digits such as push
// tokens, device library identifiers and authentication tokens. Serial
// numbers in UUID form have shorter runs and stay readable.
var secretish = regexp.MustCompile(`(?i)(ApplePass\s+)\S+|[A-Za-z0-9_+/=]{20,}`)

// logMessages handles POST /v1/log: {"logs": ["message", ...]}. Apple says
// to log the messages and never require auth; they are bounded in number
// and size, cleaned of control characters and likely secrets, and
// rate-limited across requests.
func (h *Handler) logMessages(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLogBody)
	var body struct {
		Logs []json.RawMessage `json:"logs"`
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
	if !h.allowLog() {
		text(w, http.StatusOK)
		return
	}
	budget := h.maxBytes
	logged := 0
	for _, raw := range body.Logs {
		if logged == h.maxMsgs || budget <= 0 {
			break
		}
		var msg string
		if json.Unmarshal(raw, &msg) != nil {
			continue // not a string
		}
		msg = cleanLogMessage(msg, min(maxLogMessageBytes, budget))
		if msg == "" {
			continue
		}
		budget -= len(msg)
		logged++
		h.log.InfoContext(r.Context(), "wallet device log",
			slog.String("pass_type_id", h.passType),
			slog.String("message", msg))
	}
	if dropped := len(body.Logs) - logged; dropped > 0 && logged > 0 {
		h.log.InfoContext(r.Context(), "wallet device log truncated",
			slog.Int("logged", logged), slog.Int("dropped", dropped))
	}
	text(w, http.StatusOK)
}

// cleanLogMessage makes msg safe to log: valid UTF-8, no control
// characters, likely secrets replaced, at most limit bytes.
func cleanLogMessage(msg string, limit int) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	msg = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, msg)
	msg = secretish.ReplaceAllStringFunc(msg, func(m string) string {
		if sub := secretish.FindStringSubmatch(m); sub[1] != "" {
			return sub[1] + "[redacted]"
		}
		return m[:4] + "…[redacted]"
	})
	msg = strings.TrimSpace(msg)
	if len(msg) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// allowLog takes one request from the log endpoint's token bucket.
func (h *Handler) allowLog() bool {
	h.limitMu.Lock()
	defer h.limitMu.Unlock()
	now := h.now()
	if !h.logUpdated.IsZero() {
		if d := now.Sub(h.logUpdated).Seconds(); d > 0 {
			h.logTokens = min(logBurst, h.logTokens+d*logRefill)
		}
	}
	h.logUpdated = now
	if h.logTokens < 1 {
		return false
	}
	h.logTokens--
	return true
}
