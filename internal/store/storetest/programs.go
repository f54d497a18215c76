package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// Programmes as versioned rows (store/programs.go).

func mustProgram(t *testing.T, s *store.Store, id string) store.ProgramRecord {
	t.Helper()
	p, err := s.Program(context.Background(), id)
	if err != nil {
		t.Fatalf("Program(%s) = %v, want nil", id, err)
	}
	return p
}

func mustImages(t *testing.T, s *store.Store, id string) map[string][]byte {
	t.Helper()
	imgs, err := s.ProgramImages(context.Background(), id)
	if err != nil {
		t.Fatalf("ProgramImages(%s) = %v, want nil", id, err)
	}
	return imgs
}

// setDefinition answers an apply for UpdateProgram that sets the
// definition.
func setDefinition(def string) func(store.ProgramRecord) (store.ProgramUpdate, error) {
	return func(store.ProgramRecord) (store.ProgramUpdate, error) {
		return store.ProgramUpdate{Definition: json.RawMessage(def)}, nil
	}
}

func testPrograms(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	if _, err := s.Program(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Program(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.ProgramImages(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ProgramImages(unknown) = %v, want ErrNotFound", err)
	}
	if ps, err := s.Programs(ctx); err != nil || len(ps) != 0 {
		t.Errorf("Programs(none) = %+v, %v; want none", ps, err)
	}

	def := `{"name": "Demo Coffee", "tiers": [{"name": "Gold", "threshold": 1000}]}`
	icon := []byte("\x89PNG icon")
	created, err := s.SeedProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(def), Images: map[string][]byte{"icon": icon}})
	if err != nil || !created {
		t.Fatalf("SeedProgram(demo) = %v, %v; want true, nil", created, err)
	}
	now := t0().Truncate(time.Microsecond)
	want := store.ProgramRecord{ID: "demo", Version: 1, Definition: json.RawMessage(def), CreatedAt: now, UpdatedAt: now, CardsMarkedVersion: 1}
	if diff := cmp.Diff(want, mustProgram(t, s, "demo")); diff != "" {
		t.Errorf("Program(seeded) (-want +got):\n%s", diff)
	}
	// A second seed, as at every start, changes nothing.
	clock.Add(time.Hour)
	created, err = s.SeedProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(`{"name": "Template"}`),
		Images: map[string][]byte{"icon": []byte("other"), "logo": []byte("logo")}})
	if err != nil || created {
		t.Errorf("SeedProgram(again) = %v, %v; want false, nil", created, err)
	}
	if diff := cmp.Diff(want, mustProgram(t, s, "demo")); diff != "" {
		t.Errorf("Program after a second seed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]byte{"icon": icon}, mustImages(t, s, "demo")); diff != "" {
		t.Errorf("ProgramImages after a second seed (-want +got):\n%s", diff)
	}

	if err := s.CreateProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateProgram(taken id) = %v, want ErrDuplicate", err)
	}
	if err := s.CreateProgram(ctx, store.ProgramRecord{ID: "bakery", Definition: json.RawMessage(`{"name":"Bakery"}`)}); err != nil {
		t.Fatalf("CreateProgram(bakery) = %v", err)
	}
	later := clock.Now().Truncate(time.Microsecond)
	bakery := store.ProgramRecord{ID: "bakery", Version: 1, Definition: json.RawMessage(`{"name":"Bakery"}`), CreatedAt: later, UpdatedAt: later}
	ps, err := s.Programs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.ProgramRecord{bakery, want}, ps); diff != "" {
		t.Errorf("Programs, by id (-want +got):\n%s", diff)
	}
	if imgs := mustImages(t, s, "bakery"); imgs == nil || len(imgs) != 0 {
		t.Errorf("ProgramImages(no images) = %#v, want an empty map", imgs)
	}
}

func testUpdateProgram(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(`{"name":"v1"}`),
		Images: map[string][]byte{"icon": []byte("icon1")}}); err != nil {
		t.Fatal(err)
	}
	m := NewMember(t, s, "demo")
	stray := NewMember(t, s, "no-row")
	if got := mustMember(t, s, m.ID).ProgramVersion; got != 1 {
		t.Errorf("Member(demo).ProgramVersion = %d, want 1", got)
	}
	if got := mustMember(t, s, stray.ID).ProgramVersion; got != 0 {
		t.Errorf("Member(programme without a row).ProgramVersion = %d, want 0", got)
	}

	clock.Add(time.Minute)
	var seen store.ProgramRecord
	got, err := s.UpdateProgram(ctx, "demo", 1, func(cur store.ProgramRecord) (store.ProgramUpdate, error) {
		seen = cur
		return store.ProgramUpdate{Definition: json.RawMessage(`{"name":"v2"}`)}, nil
	})
	if err != nil {
		t.Fatalf("UpdateProgram(if 1) = %v", err)
	}
	if seen.Version != 1 || string(seen.Definition) != `{"name":"v1"}` {
		t.Errorf("apply got %+v, want version 1 and the seeded definition", seen)
	}
	now := clock.Now().Truncate(time.Microsecond)
	want := store.ProgramRecord{ID: "demo", Version: 2, Definition: json.RawMessage(`{"name":"v2"}`),
		CreatedAt: t0().Truncate(time.Microsecond), UpdatedAt: now, CardsMarkedVersion: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateProgram answer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustProgram(t, s, "demo")); diff != "" {
		t.Errorf("Program after UpdateProgram (-want +got):\n%s", diff)
	}
	// The member's read says the programme moved on.
	if got := mustMember(t, s, m.ID).ProgramVersion; got != 2 {
		t.Errorf("Member.ProgramVersion = %d, want 2", got)
	}
	if got, err := s.MemberByNumber(ctx, m.Number); err != nil || got.ProgramVersion != 2 {
		t.Errorf("MemberByNumber.ProgramVersion = %d, %v; want 2", got.ProgramVersion, err)
	}
	if got, err := s.TouchMember(ctx, m.ID); err != nil || got.ProgramVersion != 2 {
		t.Errorf("TouchMember.ProgramVersion = %d, %v; want 2", got.ProgramVersion, err)
	}

	// A stale If-Match: apply is not asked and nothing is written.
	_, err = s.UpdateProgram(ctx, "demo", 1, func(store.ProgramRecord) (store.ProgramUpdate, error) {
		t.Error("apply called on a stale version")
		return store.ProgramUpdate{Definition: json.RawMessage(`{"name":"stale"}`)}, nil
	})
	if !errors.Is(err, store.ErrVersionMismatch) {
		t.Errorf("UpdateProgram(if 1, at 2) = %v, want ErrVersionMismatch", err)
	}
	if _, err := s.PutProgramImage(ctx, "demo", 1, "logo", []byte("logo")); !errors.Is(err, store.ErrVersionMismatch) {
		t.Errorf("PutProgramImage(if 1, at 2) = %v, want ErrVersionMismatch", err)
	}
	// The domain's refusal comes back as it is, and nothing is written.
	errInvalid := errors.New("tiers[0].threshold: must not be negative")
	_, err = s.UpdateProgram(ctx, "demo", 2, func(store.ProgramRecord) (store.ProgramUpdate, error) {
		return store.ProgramUpdate{Definition: json.RawMessage(`{"name":"bad"}`), PutImages: map[string][]byte{"icon": []byte("bad")}}, errInvalid
	})
	if !errors.Is(err, errInvalid) {
		t.Errorf("UpdateProgram(apply fails) = %v, want the apply error", err)
	}
	// A change that changes nothing writes nothing.
	if got, err := s.UpdateProgram(ctx, "demo", 0, setDefinition(`{"name":"v2"}`)); err != nil || got.Version != 2 {
		t.Errorf("UpdateProgram(same definition) = %+v, %v; want version 2", got, err)
	}
	if diff := cmp.Diff(want, mustProgram(t, s, "demo")); diff != "" {
		t.Errorf("Program after refused changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]byte{"icon": []byte("icon1")}, mustImages(t, s, "demo")); diff != "" {
		t.Errorf("ProgramImages after refused changes (-want +got):\n%s", diff)
	}

	// An image is a change like any other; ifVersion 0 asks for none.
	clock.Add(time.Minute)
	got, err = s.PutProgramImage(ctx, "demo", 2, "logo", []byte("logo1"))
	if err != nil || got.Version != 3 || string(got.Definition) != `{"name":"v2"}` || !got.UpdatedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("PutProgramImage(logo) = %+v, %v; want version 3, same definition, updated now", got, err)
	}
	if got, err := s.PutProgramImage(ctx, "demo", 0, "icon", []byte("icon2")); err != nil || got.Version != 4 {
		t.Errorf("PutProgramImage(icon, if 0) = %+v, %v; want version 4", got, err)
	}
	if diff := cmp.Diff(map[string][]byte{"icon": []byte("icon2"), "logo": []byte("logo1")}, mustImages(t, s, "demo")); diff != "" {
		t.Errorf("ProgramImages after puts (-want +got):\n%s", diff)
	}
	got, err = s.UpdateProgram(ctx, "demo", 4, func(store.ProgramRecord) (store.ProgramUpdate, error) {
		return store.ProgramUpdate{DeleteImages: []string{"logo", "strip"}, PutImages: map[string][]byte{"strip@2x": []byte("s")}}, nil
	})
	if err != nil || got.Version != 5 {
		t.Errorf("UpdateProgram(images) = %+v, %v; want version 5", got, err)
	}
	if diff := cmp.Diff(map[string][]byte{"icon": []byte("icon2"), "strip@2x": []byte("s")}, mustImages(t, s, "demo")); diff != "" {
		t.Errorf("ProgramImages after a delete (-want +got):\n%s", diff)
	}
	if _, err := s.UpdateProgram(ctx, "nope", 0, setDefinition(`{}`)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateProgram(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.PutProgramImage(ctx, "nope", 0, "icon", []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutProgramImage(unknown) = %v, want ErrNotFound", err)
	}
}

// testConcurrentProgramUpdates runs read-modify-write changes at once: the
// row lock makes each apply see the change before it, so none is lost.
func testConcurrentProgramUpdates(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(`{"n":0}`)}); err != nil {
		t.Fatal(err)
	}
	const n = 12
	update := func() error {
		_, err := s.UpdateProgram(ctx, "demo", 0, func(cur store.ProgramRecord) (store.ProgramUpdate, error) {
			var d struct{ N int }
			if err := json.Unmarshal(cur.Definition, &d); err != nil {
				return store.ProgramUpdate{}, err
			}
			return store.ProgramUpdate{Definition: json.RawMessage(fmt.Sprintf(`{"n":%d}`, d.N+1))}, nil
		})
		if err != nil {
			return fmt.Errorf("UpdateProgram = %w", err)
		}
		return nil
	}
	fns := make([]func() error, n)
	for i := range fns {
		fns[i] = update
	}
	concurrently(t, fns...)
	p := mustProgram(t, s, "demo")
	if p.Version != n+1 || string(p.Definition) != fmt.Sprintf(`{"n":%d}`, n) {
		t.Errorf("Program after %d concurrent changes = version %d, %s; want version %d, n %d", n, p.Version, p.Definition, n+1, n)
	}
}

// concurrently runs fns at once and reports their errors.
func concurrently(t *testing.T, fns ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		wg.Go(func() { errs <- fn() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// settle delivers every due card on both channels, so that a later mark
// shows as the cards turning pending again.
func settle(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
		jobs, err := s.ClaimDue(ctx, ch, 1000, time.Minute)
		if err != nil {
			t.Fatalf("ClaimDue(%s) = %v", ch, err)
		}
		if err := s.CompleteMany(ctx, jobs); err != nil {
			t.Fatalf("CompleteMany = %v", err)
		}
	}
}

func rowsOf(t *testing.T, s *store.Store, ms []loyalty.Member) map[string]store.MemberRow {
	t.Helper()
	out := map[string]store.MemberRow{}
	for _, m := range ms {
		out[m.ID] = mustMember(t, s, m.ID)
	}
	return out
}

// bumps answers by how much each member's pass version rose since before.
func bumps(t *testing.T, s *store.Store, before map[string]store.MemberRow) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for id, b := range before {
		out[id] = mustMember(t, s, id).Account.PassVersion - b.Account.PassVersion
	}
	return out
}

// countBumps answers how many members rose by each amount.
func countBumps(bs map[string]int64) map[int64]int {
	out := map[int64]int{}
	for _, n := range bs {
		out[n]++
	}
	return out
}

func markAll(t *testing.T, s *store.Store, program string, limit int) (total int) {
	t.Helper()
	for range 1000 {
		n, done, err := s.MarkProgramCards(context.Background(), program, limit)
		if err != nil {
			t.Fatalf("MarkProgramCards(%s, %d) = %v", program, limit, err)
		}
		if n > limit {
			t.Fatalf("MarkProgramCards(%s, %d) marked %d", program, limit, n)
		}
		total += n
		if done {
			return total
		}
	}
	t.Fatalf("MarkProgramCards(%s): not done after 1000 batches", program)
	return 0
}

func testMarkProgramCards(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: time.Second})
	ctx := context.Background()
	var demo []loyalty.Member
	for range 5 {
		demo = append(demo, NewMember(t, s, "demo"))
	}
	erased := NewMember(t, s, "demo")
	if err := s.EraseMember(ctx, erased.ID); err != nil {
		t.Fatal(err)
	}
	other := NewMember(t, s, "other")
	for _, id := range []string{"demo", "other"} {
		if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: id, Definition: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// A seeded programme's cards were built from its template: nothing to mark.
	if ids, err := s.ProgramsToMark(ctx); err != nil || len(ids) != 0 {
		t.Errorf("ProgramsToMark(seeded) = %v, %v; want none", ids, err)
	}
	settle(t, s)
	clock.Add(time.Second)
	untouched := rowsOf(t, s, []loyalty.Member{erased, other})
	before := rowsOf(t, s, demo)
	if _, err := s.UpdateProgram(ctx, "demo", 0, setDefinition(`{"name":"v2"}`)); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.ProgramsToMark(ctx); err != nil || !cmp.Equal(ids, []string{"demo"}) {
		t.Errorf("ProgramsToMark = %v, %v; want [demo]", ids, err)
	}
	// The change itself touches no card.
	if got := countBumps(bumps(t, s, before)); got[0] != 5 {
		t.Errorf("pass version rises after UpdateProgram: %v, want none", got)
	}

	// One batch, then the worker stops (a crash): two cards are marked,
	// and the programme is still to mark.
	n, done, err := s.MarkProgramCards(ctx, "demo", 2)
	if err != nil || n != 2 || done {
		t.Fatalf("MarkProgramCards(demo, 2) = %d, %v, %v; want 2, false", n, done, err)
	}
	if got := countBumps(bumps(t, s, before)); got[1] != 2 || got[0] != 3 {
		t.Errorf("after one batch, members by pass version rise = %v, want 2 by one and 3 by none", got)
	}
	if p := mustProgram(t, s, "demo"); p.CardsMarkedVersion != 1 {
		t.Errorf("CardsMarkedVersion mid-marking = %d, want 1", p.CardsMarkedVersion)
	}
	if ids, err := s.ProgramsToMark(ctx); err != nil || !cmp.Equal(ids, []string{"demo"}) {
		t.Errorf("ProgramsToMark after an interrupted marking = %v, %v; want [demo]", ids, err)
	}
	// A worker resumes where the cursor is.
	if total := markAll(t, s, "demo", 2); total != 3 {
		t.Errorf("resumed marking marked %d cards, want 3", total)
	}
	now := clock.Now().Truncate(time.Microsecond)
	for _, m := range demo {
		got, b := mustMember(t, s, m.ID), before[m.ID]
		if got.Account.PassVersion != b.Account.PassVersion+1 || !got.PassModified.After(b.PassModified) || got.UpdateSeq <= b.UpdateSeq {
			t.Errorf("member %s: %+v, want one bump from %+v", m.ID, got, b)
		}
		for _, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
			st := syncState(t, s, m.ID, ch)
			if st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending || st.WantedVersion <= st.SyncedVersion ||
				!st.NextAttemptAt.Equal(now.Add(time.Second)) {
				t.Errorf("member %s: %s sync %+v, want pending at %d, due after the debounce", m.ID, ch, st, got.Account.PassVersion)
			}
		}
	}
	for id, b := range untouched {
		if got := mustMember(t, s, id); got.Account != b.Account || got.UpdateSeq != b.UpdateSeq {
			t.Errorf("member %s (erased or of another programme) was marked: %+v", id, got)
		}
	}
	if p := mustProgram(t, s, "demo"); p.CardsMarkedVersion != 2 {
		t.Errorf("CardsMarkedVersion = %d, want 2", p.CardsMarkedVersion)
	}
	if ids, err := s.ProgramsToMark(ctx); err != nil || len(ids) != 0 {
		t.Errorf("ProgramsToMark after marking = %v, %v; want none", ids, err)
	}
	// Marked: another call marks nothing.
	marked := rowsOf(t, s, demo)
	if n, done, err := s.MarkProgramCards(ctx, "demo", 2); err != nil || n != 0 || !done {
		t.Errorf("MarkProgramCards(marked) = %d, %v, %v; want 0, true", n, done, err)
	}
	if got := countBumps(bumps(t, s, marked)); got[0] != 5 {
		t.Errorf("MarkProgramCards(marked) raised pass versions: %v", got)
	}

	// A change while a marking runs starts it again for the new version.
	if _, err := s.UpdateProgram(ctx, "demo", 0, setDefinition(`{"name":"v3"}`)); err != nil {
		t.Fatal(err)
	}
	if n, done, err := s.MarkProgramCards(ctx, "demo", 3); err != nil || n != 3 || done {
		t.Fatalf("MarkProgramCards(demo, 3) = %d, %v, %v; want 3, false", n, done, err)
	}
	if _, err := s.UpdateProgram(ctx, "demo", 0, setDefinition(`{"name":"v4"}`)); err != nil {
		t.Fatal(err)
	}
	if total := markAll(t, s, "demo", 3); total != 5 {
		t.Errorf("marking after a second change marked %d cards, want all 5", total)
	}
	if got := countBumps(bumps(t, s, marked)); got[2] != 3 || got[1] != 2 {
		t.Errorf("members by pass version rise = %v, want 3 by two (marked for both changes) and 2 by one", got)
	}
	if p := mustProgram(t, s, "demo"); p.CardsMarkedVersion != 4 || p.Version != 4 {
		t.Errorf("Program = %+v, want version 4 marked", p)
	}

	// A programme without cards is marked in one call.
	if err := s.CreateProgram(ctx, store.ProgramRecord{ID: "empty", Definition: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.ProgramsToMark(ctx); err != nil || !cmp.Equal(ids, []string{"empty"}) {
		t.Errorf("ProgramsToMark(created) = %v, %v; want [empty]", ids, err)
	}
	if n, done, err := s.MarkProgramCards(ctx, "empty", 10); err != nil || n != 0 || !done {
		t.Errorf("MarkProgramCards(empty) = %d, %v, %v; want 0, true", n, done, err)
	}
	if _, _, err := s.MarkProgramCards(ctx, "nope", 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkProgramCards(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.MarkProgramCards(ctx, "demo", 0); err == nil {
		t.Error("MarkProgramCards(limit 0) = nil, want an error")
	}
}

func testConcurrentMarking(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ConcurrentMarking(t, s, s)
}

// ConcurrentMarking checks batched card marking under concurrency: one
// marking worker per store given (two on one store, or instances sharing a
// database) marks a programme's cards while tills post to them through
// the stores in turn. Every post succeeds and every card is marked once.
func ConcurrentMarking(t *testing.T, stores ...*store.Store) {
	s := stores[0]
	ctx := context.Background()
	if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: "demo", Definition: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var demo []loyalty.Member
	for range 30 {
		demo = append(demo, NewMember(t, s, "demo"))
	}
	before := rowsOf(t, s, demo)
	if _, err := s.UpdateProgram(ctx, "demo", 0, setDefinition(`{"name":"v2"}`)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	total := 0
	mark := func(s *store.Store) error {
		for {
			n, done, err := s.MarkProgramCards(ctx, "demo", 4)
			if err != nil {
				return fmt.Errorf("MarkProgramCards = %w", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
			if done {
				return nil
			}
		}
	}
	var fns []func() error
	for _, s := range stores {
		fns = append(fns, func() error { return mark(s) })
	}
	for i, m := range demo {
		s := stores[i%len(stores)]
		fns = append(fns, func() error {
			key := uuid.NewString()
			if _, err := s.Post(ctx, m.ID, key, "h-"+key, balances.Request{Type: balances.Earn, Points: 5}, Rules); err != nil {
				return fmt.Errorf("Post(%s) = %w", m.ID, err)
			}
			return nil
		})
	}
	concurrently(t, fns...)
	if total != len(demo) {
		t.Errorf("two workers marked %d cards, want %d", total, len(demo))
	}
	for id, n := range bumps(t, s, before) {
		// One for the post, one for the mark.
		if n != 2 {
			t.Errorf("member %s: pass version rose by %d, want 2", id, n)
		}
		got := mustMember(t, s, id)
		if got.Account.Points != 5 {
			t.Errorf("member %s: %d points, want 5", id, got.Account.Points)
		}
		if st := syncState(t, s, id, loyalty.ChannelApple); st.WantedVersion != got.Account.PassVersion {
			t.Errorf("member %s: apple sync %+v, want wanted %d", id, st, got.Account.PassVersion)
		}
	}
	if p := mustProgram(t, s, "demo"); p.CardsMarkedVersion != 2 {
		t.Errorf("CardsMarkedVersion = %d, want 2", p.CardsMarkedVersion)
	}
}

func testProgramClassSync(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	due := func() []string {
		t.Helper()
		ps, err := s.ProgramClassesDue(ctx)
		if err != nil {
			t.Fatalf("ProgramClassesDue = %v", err)
		}
		ids := []string{}
		for _, p := range ps {
			ids = append(ids, fmt.Sprintf("%s@%d", p.ID, p.Version))
		}
		return ids
	}
	for _, id := range []string{"demo", "bakery"} {
		if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: id, Definition: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(); !cmp.Equal(got, []string{"bakery@1", "demo@1"}) {
		t.Errorf("ProgramClassesDue(seeded) = %v, want both at version 1", got)
	}
	if err := s.MarkProgramClassSynced(ctx, "demo", 1); err != nil {
		t.Fatal(err)
	}
	if got := due(); !cmp.Equal(got, []string{"bakery@1"}) {
		t.Errorf("ProgramClassesDue = %v, want bakery only", got)
	}
	for range 2 {
		if _, err := s.UpdateProgram(ctx, "demo", 0, func(cur store.ProgramRecord) (store.ProgramUpdate, error) {
			return store.ProgramUpdate{Definition: json.RawMessage(fmt.Sprintf(`{"v":%d}`, cur.Version))}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(); !cmp.Equal(got, []string{"bakery@1", "demo@3"}) {
		t.Errorf("ProgramClassesDue after changes = %v, want demo at 3 again", got)
	}
	if err := s.MarkProgramClassSynced(ctx, "demo", 3); err != nil {
		t.Fatal(err)
	}
	// A slow delivery of version 2 ending last does not lower the mark.
	if err := s.MarkProgramClassSynced(ctx, "demo", 2); err != nil {
		t.Errorf("MarkProgramClassSynced(older) = %v, want nil", err)
	}
	if p := mustProgram(t, s, "demo"); p.GoogleClassVersion != 3 {
		t.Errorf("GoogleClassVersion = %d, want 3", p.GoogleClassVersion)
	}
	if got := due(); !cmp.Equal(got, []string{"bakery@1"}) {
		t.Errorf("ProgramClassesDue = %v, want bakery only", got)
	}
	if err := s.MarkProgramClassSynced(ctx, "demo", 4); err == nil {
		t.Error("MarkProgramClassSynced(future version) = nil, want an error")
	}
	if err := s.MarkProgramClassSynced(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkProgramClassSynced(unknown) = %v, want ErrNotFound", err)
	}
}
