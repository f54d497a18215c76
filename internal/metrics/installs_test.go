package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// TestCardsInstalledGauge: the gauge per programme and wallet, read from
// a real store's figures.
func TestCardsInstalledGauge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testkit.OpenSQLite(t, store.Options{})
	a, b := storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "cafe")
	storetest.NewMember(t, s, "empty")
	for _, dev := range []string{"d1", "d2"} {
		if _, err := s.Register(ctx, loyalty.Registration{DeviceID: dev, PushToken: "p" + dev, PassTypeID: "pass.t", MemberID: a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RecordGoogleCallback(ctx, store.GoogleCallback{Nonce: "n1", MemberID: b.ID, Installed: true}); err != nil {
		t.Fatal(err)
	}
	m := New(fakeSource{}, nil, nil, slog.New(slog.DiscardHandler))
	m.AddInstalls(s, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	for _, want := range []string{
		`passd_cards_installed{program="demo",wallet="apple"} 1`,
		`passd_cards_installed{program="demo",wallet="google"} 0`,
		`passd_cards_installed{program="cafe",wallet="google"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(out, `program="empty"`) {
		t.Error("metrics show a programme without installed cards")
	}
}
