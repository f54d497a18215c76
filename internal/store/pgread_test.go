package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// TestPostgresMemberPipeline holds PostgreSQL's one lane of member reads
// busy while seven more reads queue, then checks that they ran as one
// pipeline and that each got its own answer: a member, loyalty.ErrMemberNotFound,
// or, for an ID the server rejects (a NUL byte is not valid text), an error
// of its own that does not fail the reads queued after it.
func TestPostgresMemberPipeline(t *testing.T) {
	s := openPostgres(t, store.Options{})
	ctx := context.Background()
	ms := make([]loyalty.Member, 5)
	for i := range ms {
		ms[i] = storetest.NewMember(t, s, "demo")
	}
	var (
		mu      sync.Mutex
		sizes   []int
		started = make(chan struct{})
		release = make(chan struct{})
	)
	s.HoldMemberBatches(1, func(n int) {
		mu.Lock()
		sizes = append(sizes, n)
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
	})

	type answer struct {
		row store.MemberRow
		err error
	}
	ids := []string{ms[0].ID, ms[1].ID, "bad\x00id", ms[2].ID, uuid.NewString(), ms[3].ID, ms[4].ID, ms[1].ID}
	answers := make([]answer, len(ids))
	var wg sync.WaitGroup
	read := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Member(ctx, ids[i])
			answers[i] = answer{r, err}
		}()
	}
	read(0)
	<-started
	// The others queue in order behind the held batch.
	for i := 1; i < len(ids); i++ {
		read(i)
		testkit.WaitFor(t, func() bool { return s.PendingMemberReads() == i })
	}
	close(release)
	wg.Wait()

	mu.Lock()
	got := slices.Clone(sizes)
	mu.Unlock()
	if !slices.Equal(got, []int{1, len(ids) - 1}) {
		t.Errorf("batch sizes = %v, want [1 %d]", got, len(ids)-1)
	}
	for i, id := range ids {
		a := answers[i]
		switch {
		case id == "bad\x00id":
			if a.err == nil || errors.Is(a.err, loyalty.ErrMemberNotFound) {
				t.Errorf("Member(NUL byte) = %v, want the server's error", a.err)
			}
		case i == 4:
			if !errors.Is(a.err, loyalty.ErrMemberNotFound) {
				t.Errorf("Member(unknown) = %v, want loyalty.ErrMemberNotFound", a.err)
			}
		default:
			if a.err != nil || a.row.ID != id {
				t.Errorf("Member(%s) = %s, %v; want that member", id, a.row.ID, a.err)
			}
		}
	}
}

// TestPostgresMemberReadCancelled: a caller whose context ends while its
// read waits for a lane gets its context's error at once; the batch still
// runs for the others.
func TestPostgresMemberReadCancelled(t *testing.T) {
	s := openPostgres(t, store.Options{})
	m := storetest.NewMember(t, s, "demo")
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.HoldMemberBatches(1, func(int) {
		once.Do(func() { close(started); <-release })
	})
	done := make(chan error, 1)
	go func() {
		_, err := s.Member(context.Background(), m.ID)
		done <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, err := s.Member(ctx, m.ID)
		waiting <- err
	}()
	testkit.WaitFor(t, func() bool { return s.PendingMemberReads() == 1 })
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Member = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("held Member = %v", err)
	}
	// The lane is free again and the queue empty.
	if r, err := s.Member(context.Background(), m.ID); err != nil || r.ID != m.ID {
		t.Errorf("Member after = %s, %v", r.ID, err)
	}
	if n := s.PendingMemberReads(); n != 0 {
		t.Errorf("pending after = %d, want 0", n)
	}
}

// TestPostgresSurvivesTerminatedConnections: after the server ends every
// connection of passd's pool (a restart or failover does), the next member
// reads and Posts still answer, from new connections, rather than failing
// once for each connection that was idle in the pool; and a Post that ran
// again posted once.
func TestPostgresSurvivesTerminatedConnections(t *testing.T) {
	// The pool's connections carry a name of their own, so that the test
	// ends them alone, not those of other packages' tests that share the
	// database.
	app := "passd-terminated-" + uuid.NewString()
	url := testpg.FreshSchema(t) + "&application_name=" + app
	s := openPostgresAt(t, url, store.Options{MaxConns: 4})
	ctx := context.Background()
	ms := make([]loyalty.Member, 4)
	for i := range ms {
		ms[i] = storetest.NewMember(t, s, "demo")
	}
	earn := balances.Request{Type: balances.Earn, Points: 3}
	terminate := func() {
		t.Helper()
		// Work at once, so that the pool holds idle connections.
		var wg sync.WaitGroup
		for i, m := range ms {
			wg.Go(func() {
				if _, err := s.Member(ctx, m.ID); err != nil {
					t.Error(err)
				}
				if _, err := s.Post(ctx, m.ID, uuid.NewString(), "h", earn, storetest.Rules); err != nil {
					t.Errorf("Post #%d before = %v", i, err)
				}
			})
		}
		wg.Wait()
		admin, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var ended int
		if err := admin.QueryRow(`
			SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()
			  AND application_name = $1`, app).Scan(&ended); err != nil {
			t.Fatal(err)
		}
		if ended < 2 {
			t.Fatalf("%d connections of passd's pool ended, want 2 or more", ended)
		}
	}

	terminate()
	for i := range 3 {
		if r, err := s.Member(ctx, ms[0].ID); err != nil || r.ID != ms[0].ID {
			t.Fatalf("Member #%d after the server ended the pool's connections = %s, %v; want the member", i+1, r.ID, err)
		}
	}

	terminate()
	res, err := s.Post(ctx, ms[1].ID, "after-restart", "h", earn, storetest.Rules)
	if err != nil || res.Replayed {
		t.Fatalf("Post after the server ended the pool's connections = %+v, %v; want a new entry", res, err)
	}
	if _, _, err := s.Entries(ctx, ms[1].ID, "", 10); err != nil {
		t.Errorf("Entries after = %v", err)
	}
	// Three Posts: two before each termination, this one.
	if got, want := res.Account.Points, int64(3*earn.Points); got != want {
		t.Errorf("balance = %d, want %d (each Post once)", got, want)
	}
}
