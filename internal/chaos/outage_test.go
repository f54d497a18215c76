package chaos_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// rounds answers n in the bounded form, long in make chaos.
func rounds(n, long int) int {
	if os.Getenv("PASSD_CHAOS") == "long" {
		return long
	}
	return n
}

// TestDatabaseRestartUnderLoad restarts PostgreSQL (pg_ctl restart -m
// fast, which ends every session at once) while tills post earns. passd
// answers no 500: reads and the API-key lookup run again on a fresh
// connection, and while the server is down a request gets 503
// unavailable, which the till retries with the same Idempotency-Key.
// Afterwards no acknowledged earn is lost or doubled, the entries sum to
// every balance, and replays change nothing.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	t.Parallel()
	cluster := testpg.NewCluster(t)
	dir := t.TempDir()
	a := newApple(t, dir)
	p := start(t, merge(a.env, map[string]string{
		"PASSD_DATABASE_URL": cluster.URL(), "PASSD_BOOTSTRAP_ADMIN_KEY": adminKey,
	}))
	ctx := deadline(t, 2*time.Minute)
	l := newLoad(t, p.URL)
	l.enrol(ctx, 6)
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, 6, rounds(80, 400)) }()
	for range rounds(1, 4) {
		l.waitAcks(ctx, 60)
		if err := cluster.Restart("fast"); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish: %v\n%s", ctx.Err(), p.output())
	}
	l.check(ctx)
}

// TestKillUnderLoad kills passd (SIGKILL) again and again while tills
// post earns, restarting it each time on the same data: every earn passd
// acknowledged is in the ledger once, the rest are retried with their
// keys until acknowledged, and the entries sum to every balance.
func TestKillUnderLoad(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, _ string, db backend, a apple) {
		env := merge(a.env, db.env, map[string]string{"PASSD_ADDR": freeAddr(t), "PASSD_BOOTSTRAP_ADMIN_KEY": adminKey})
		p := start(t, env)
		ctx := deadline(t, 3*time.Minute)
		l := newLoad(t, p.URL)
		l.enrol(ctx, 6)
		done := make(chan struct{})
		go func() { defer close(done); l.run(ctx, 6, rounds(60, 400)) }()
		for range rounds(2, 10) {
			l.waitAcks(ctx, 40)
			p.kill()
			p = start(t, env)
		}
		<-done
		if ctx.Err() != nil {
			t.Fatalf("the load did not finish: %v\n%s", ctx.Err(), p.output())
		}
		l.check(ctx)
	})
}

// deadline is a context ending after d or with the test.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestAPNsOutage: APNs answers 503 to every push for a while (3 s here,
// 60 s in make chaos) as each card changes once. When APNs is back the
// backlog drains: every card is pushed, exactly once, and none is left
// waiting or in error.
func TestAPNsOutage(t *testing.T) {
	t.Parallel()
	outage := time.Duration(rounds(3, 60)) * time.Second
	eachBackend(t, func(t *testing.T, _ string, db backend, a apple) {
		const cards = 12
		members, tokens := seedCards(t, db, cards)
		started := time.Now()
		p := start(t, merge(a.env, db.env, map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey}))
		if !testkit.Poll(30*time.Second, func() bool { return len(okSince(a.apns, started)) == cards }) {
			t.Fatalf("first pushes: %d of %d cards\n%s", len(okSince(a.apns, started)), cards, p.output())
		}
		down := time.Now()
		a.apns.Script(apnstest.Rule{Reply: apnstest.ServiceUnavailable(), For: outage})
		ctx := deadline(t, outage+3*time.Minute)
		l := newLoad(t, p.URL)
		l.members = members
		for i, m := range members {
			l.earnFor(ctx, m, 0, i)
		}
		// The backoff doubles from 2 s: after a 60 s outage a card's next
		// try may come up to a minute late.
		drained := func() bool { return len(okSince(a.apns, down)) == cards }
		if !testkit.Poll(outage+2*time.Minute, drained) {
			t.Fatalf("after the outage: %d of %d cards pushed\n%s", len(okSince(a.apns, down)), cards, p.output())
		}
		failed := 0
		for _, push := range a.apns.Pushes() {
			if !push.Time.Before(down) && push.Status == 503 {
				failed++
			}
		}
		if failed == 0 {
			t.Fatal("no push met the outage")
		}
		got := okSince(a.apns, down)
		for _, tok := range tokens {
			if got[tok] != 1 {
				t.Errorf("token %s pushed %d times after the outage, want once", tok, got[tok])
			}
		}
		s := db.open(t)
		defer s.Close()
		// The mock counts a push when it answers; the card's sync row is
		// settled by passd just after, so the queue is polled, not read once.
		var (
			waiting, errored int64
			err              error
		)
		settled := func() bool {
			waiting, _, errored, err = s.SyncStats(context.Background(), loyalty.ChannelApple)
			return err == nil && waiting == 0 && errored == 0
		}
		if !testkit.Poll(30*time.Second, settled) {
			t.Errorf("apple cards waiting %d, in error %d (%v); want none", waiting, errored, err)
		}
		l.check(ctx)
		t.Logf("%s: %d pushes refused during the %v outage, the backlog drained %v after it began", db.name, failed, outage, time.Since(down).Round(time.Millisecond))
	})
}
