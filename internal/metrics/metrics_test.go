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

type fakeSource struct{}

func (fakeSource) SyncStats(_ context.Context, channel string) (int64, time.Duration, int64, error) {
	if channel == "apple" {
		return 7, 90 * time.Second, 2, nil
	}
	return 0, 0, 0, nil
}

func (fakeSource) CountRegistrations(context.Context) (int64, error) { return 42, nil }

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	m := New(fakeSource{}, []string{"apple", "google"}, func() (int, int, uint64, uint64) { return 3, 3000, 10, 4 },
		slog.New(slog.DiscardHandler))
	m.Push("delivered")
	m.Push("delivered")
	m.Push("unregistered")
	m.Delivered("apple", 20*time.Millisecond)
	m.Failed("google", false)
	m.Failed("google", true)
	m.Request("/api/v1/members/{id}", 404)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	for _, want := range []string{
		`passd_apns_pushes_total{outcome="delivered"} 2`,
		`passd_apns_pushes_total{outcome="unregistered"} 1`,
		`passd_sync_deliveries_total{channel="apple",result="ok"} 1`,
		`passd_sync_deliveries_total{channel="google",result="retry"} 1`,
		`passd_sync_deliveries_total{channel="google",result="error"} 1`,
		`passd_sync_dirty_cards{channel="apple"} 7`,
		`passd_sync_oldest_dirty_seconds{channel="apple"} 90`,
		`passd_sync_error_cards{channel="apple"} 2`,
		`passd_sync_dirty_cards{channel="google"} 0`,
		`passd_apple_registrations 42`,
		`passd_pass_cache_entries 3`,
		`passd_pass_cache_hits_total 10`,
		`passd_http_requests_total{code="404",route="/api/v1/members/{id}"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
