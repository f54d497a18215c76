package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// pushWithin is the recovery goal: after SIGKILL and restart, every
// pending push is delivered within this.
const pushWithin = 20 * time.Second

// TestKillRestartDeliversPending: passd claims every card's push and
// APNs holds them all unanswered when passd is killed (SIGKILL). The
// restarted passd takes the dead instance's claims back at once (its
// lock file on SQLite, its database session on PostgreSQL, is gone) and
// every card is pushed within 20 s, well before the 2-minute lease would
// have run out.
func TestKillRestartDeliversPending(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, _ string, db backend, a apple) {
		const cards = 24
		members, tokens := seedCards(t, db, cards)
		a.apns.Script(apnstest.Rule{Reply: apnstest.Reply{Delay: 10 * time.Minute}})
		env := merge(a.env, db.env)
		p := start(t, env)
		s := db.open(t)
		leased := func() bool {
			for _, id := range members {
				if o, err := s.LeaseOwner(context.Background(), id, loyalty.ChannelApple); err != nil || o == "" {
					return false
				}
			}
			return a.apns.MaxInFlight() > 0
		}
		if !testkit.Poll(30*time.Second, leased) {
			t.Fatalf("passd did not claim every card with pushes in flight (max in flight %d)\n%s", a.apns.MaxInFlight(), p.output())
		}
		s.Close()
		p.kill()
		a.apns.ClearScript()

		restart := time.Now()
		p = start(t, env)
		ok := testkit.Poll(pushWithin, func() bool { return len(okSince(a.apns, restart)) == cards })
		took := time.Since(restart)
		got := okSince(a.apns, restart)
		if !ok {
			t.Fatalf("%d of %d cards pushed within %v of the restart\n%s", len(got), cards, pushWithin, p.output())
		}
		for _, tok := range tokens {
			if got[tok] != 1 {
				t.Errorf("token %s pushed %d times after the restart, want once", tok, got[tok])
			}
		}
		t.Logf("%s: all %d pending pushes delivered %v after the restart", db.name, cards, took.Round(time.Millisecond))
	})
}

// seedCards enrols n members of the demo programme, each with one
// registered iPhone, before passd starts; it answers their ids and push
// tokens.
func seedCards(t *testing.T, db backend, n int) (members, tokens []string) {
	t.Helper()
	s := db.open(t)
	defer s.Close()
	ctx := context.Background()
	for i := range n {
		m := storetest.NewMember(t, s, "demo")
		tok := fmt.Sprintf("%064x", i+1)
		if _, err := s.Register(ctx, loyalty.Registration{
			DeviceID: fmt.Sprintf("device-%d", i), PushToken: tok, PassTypeID: config.DefaultPassTypeID, MemberID: m.ID,
		}); err != nil {
			t.Fatal(err)
		}
		members = append(members, m.ID)
		tokens = append(tokens, tok)
	}
	return members, tokens
}
