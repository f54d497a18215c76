package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWebhookMetrics(t *testing.T) {
	t.Parallel()
	m := New(fakeSource{}, nil, func() (int, int, uint64, uint64) { return 0, 0, 0, 0 }, slog.New(slog.DiscardHandler))
	observe := m.Webhooks(func(context.Context) (time.Duration, error) { return 90 * time.Second, nil })
	observe("delivered")
	observe("delivered")
	observe("retry")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`passd_webhook_attempts_total{outcome="delivered"} 2`,
		`passd_webhook_attempts_total{outcome="retry"} 1`,
		`passd_webhook_outbox_lag_seconds 90`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
