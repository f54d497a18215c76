package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/passkit/apns"
)

// devPusher stands for APNs in development mode (development
// certificates, no PASSD_APNS_URL): Apple's APNs refuses development
// certificates, so each push is logged here and counted as delivered.
// Push tokens are not logged.
type devPusher struct{ log *slog.Logger }

func (p devPusher) PushMany(ctx context.Context, tokens []string) []apns.Result {
	out := make([]apns.Result, len(tokens))
	for i, t := range tokens {
		out[i] = apns.Result{Token: t, Outcome: apns.Delivered}
	}
	p.log.InfoContext(ctx, "development mode: push logged, not sent to Apple", "devices", len(tokens))
	return out
}

// metricsAuth asks for "Authorization: Bearer token" when token is set.
func metricsAuth(log *slog.Logger, token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if scheme, rest, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Bearer") {
			got = "Bearer " + strings.TrimSpace(rest)
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="passd metrics"`)
			problem.Write(w, r, log, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "send the metrics token (PASSD_METRICS_TOKEN) as 'Authorization: Bearer <token>'"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
