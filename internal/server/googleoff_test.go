package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
)

// TestGoogleOffThenOn: with Google Wallet off, members' cards get no
// Google sync row and /metrics has no Google series; passd later started
// with Google on enqueues every card once (each object is inserted once,
// none twice), and a further restart enqueues nothing more.
func TestGoogleOffThenOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := server.Options{SyncPoll: 50 * time.Millisecond, SyncDebounce: 10 * time.Millisecond}
	s := start(t, map[string]string{"PASSD_DATA_DIR": dir}, opts)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = enroll(t, s, "Off "+string(rune('A'+i)))["id"].(string)
	}
	ctx := context.Background()
	for _, id := range ids {
		states, err := s.Store.SyncStates(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 1 || states[0].Channel != loyalty.ChannelApple {
			t.Fatalf("sync rows with Google off = %+v, want the apple one only", states)
		}
	}
	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `passd_sync_dirty_cards{channel="apple"}`) {
		t.Fatalf("/metrics lacks the apple series:\n%s", body)
	}
	if strings.Contains(string(body), `channel="google"`) {
		t.Fatalf("/metrics has Google series with Google off:\n%s", body)
	}
	s.stop()

	fake := wallettest.New(t)
	on := func() *started {
		return startWithGoogleEnv(t, fake, map[string]string{"PASSD_DATA_DIR": dir, "PASSD_PUBLIC_URL": googlePublicURL})
	}
	s = on()
	for _, id := range ids {
		waitFor(t, func() bool { return fake.Object(wallettest.IssuerID+"."+id) != nil })
	}
	waitFor(t, func() bool {
		waiting, _, _, err := s.Store.SyncStats(ctx, loyalty.ChannelGoogle)
		return err == nil && waiting == 0
	})
	inserts := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Method == http.MethodPost && r.Path == "loyaltyObject" {
				n++
			}
		}
		return n
	}
	if n := inserts(); n != len(ids) {
		t.Fatalf("object inserts after turning Google on = %d, want %d (one per card)", n, len(ids))
	}
	s.stop()
	before := len(fake.Requests())
	s = on()
	// The restart's class upsert happens before serving; nothing is
	// queued for the cards, which are in sync.
	waiting, _, _, err := s.Store.SyncStats(ctx, loyalty.ChannelGoogle)
	if err != nil || waiting != 0 {
		t.Fatalf("Google cards waiting after a restart = %d, %v; want none", waiting, err)
	}
	for _, r := range fake.Requests()[before:] {
		if strings.HasPrefix(r.Path, "loyaltyObject") {
			t.Errorf("a restart with Google on touched an object again: %s", r)
		}
	}
}
