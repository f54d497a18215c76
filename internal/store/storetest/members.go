package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// Members part two: profile edits, consents, search, member messages.

func set(v string) loyalty.Field { return loyalty.Field{Set: true, Value: v} }

var null = loyalty.Field{Set: true, Null: true}

func testUpdateMember(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := memberFor(t, "demo")
	m.ExternalID = "crm-1"
	if err := s.CreateMember(ctx, m, balances.NewAccount(Rules)); err != nil {
		t.Fatal(err)
	}
	other := memberFor(t, "demo")
	other.ExternalID = "crm-2"
	if err := s.CreateMember(ctx, other, balances.NewAccount(Rules)); err != nil {
		t.Fatal(err)
	}
	before := mustMember(t, s, m.ID)
	clock.Add(time.Second)

	got, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{Name: set("Ada King"), Birthday: null, ExternalID: set("crm-3")}, loyalty.ConsentAPIPatch)
	if err != nil {
		t.Fatalf("UpdateMember = %v", err)
	}
	want := before
	want.Name, want.Birthday, want.ExternalID = "Ada King", "", "crm-3"
	want.Account.PassVersion = before.Account.PassVersion + 1
	want.PassModified = got.PassModified
	want.UpdateSeq = got.UpdateSeq
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateMember answer (-want +got):\n%s", diff)
	}
	if got.UpdateSeq <= before.UpdateSeq || !got.PassModified.After(before.PassModified) {
		t.Errorf("UpdateMember: update seq %d, modified %v; want both past %d, %v", got.UpdateSeq, got.PassModified, before.UpdateSeq, before.PassModified)
	}
	if diff := cmp.Diff(got, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("UpdateMember answer differs from Member (-update +member):\n%s", diff)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, m.ID, ch); st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("%s sync after UpdateMember = %+v, want pending at %d", ch, st, got.Account.PassVersion)
		}
	}
	if r, err := s.MemberByExternalID(ctx, "demo", "crm-3"); err != nil || r.ID != m.ID {
		t.Errorf("MemberByExternalID(crm-3) = %s, %v; want %s", r.ID, err, m.ID)
	}
	if _, err := s.MemberByExternalID(ctx, "demo", "crm-1"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("MemberByExternalID(old crm-1) = %v, want not found", err)
	}

	// Another member's external ID: nothing is written.
	_, err = s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{Name: set("Changed"), ExternalID: set("crm-2")}, loyalty.ConsentAPIPatch)
	if !errors.Is(err, loyalty.ErrExternalIDTaken) || !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("UpdateMember(taken external id) = %v, want ErrExternalIDTaken", err)
	}
	if diff := cmp.Diff(got, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("a refused UpdateMember changed the member (-before +after):\n%s", diff)
	}

	// Clearing the external ID frees it; the marketing answer alone leaves
	// the card alone.
	cleared, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{ExternalID: null, Email: set("")}, loyalty.ConsentAPIPatch)
	if err != nil || cleared.ExternalID != "" || cleared.Email != "" {
		t.Fatalf("UpdateMember(clear) = %+v, %v", cleared, err)
	}
	yes := true
	opted, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &yes}, loyalty.ConsentAPIPatch)
	if err != nil || !opted.MarketingOptIn || opted.Account.PassVersion != cleared.Account.PassVersion {
		t.Errorf("UpdateMember(opt in) = opt-in %v, version %d, %v; want true at version %d", opted.MarketingOptIn, opted.Account.PassVersion, err, cleared.Account.PassVersion)
	}

	if _, err := s.UpdateMember(ctx, uuid.NewString(), loyalty.ProfilePatch{Name: set("X")}, loyalty.ConsentAPIPatch); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("UpdateMember(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if err := s.EraseMember(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, other.ID, loyalty.ProfilePatch{Name: set("Back")}, loyalty.ConsentAPIPatch); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("UpdateMember(erased) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if r := mustMember(t, s, other.ID); r.Name != "" {
		t.Errorf("erased member's name after UpdateMember = %q, want none", r.Name)
	}
}

func testConsents(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := memberFor(t, "demo")
	m.MarketingOptIn, m.ConsentSource = true, loyalty.ConsentJoinPage
	if err := s.CreateMember(ctx, m, balances.NewAccount(Rules)); err != nil {
		t.Fatal(err)
	}
	if r := mustMember(t, s, m.ID); !r.MarketingOptIn {
		t.Errorf("Member.MarketingOptIn = false, want true as enrolled")
	}
	no, yes := false, true
	clock.Add(time.Minute)
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &no}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	// The same answer again is no change and is not recorded.
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &no}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &yes}, "console"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	x, err := s.Export(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := func(min int) time.Time { return t0().Truncate(time.Microsecond).Add(time.Duration(min) * time.Minute) }
	want := []loyalty.Consent{
		{MemberID: m.ID, MarketingOptIn: true, Source: loyalty.ConsentJoinPage, CreatedAt: at(0)},
		{MemberID: m.ID, MarketingOptIn: false, Source: loyalty.ConsentAPIPatch, CreatedAt: at(1)},
		{MemberID: m.ID, MarketingOptIn: true, Source: "console", CreatedAt: at(2)},
		{MemberID: m.ID, MarketingOptIn: false, Source: loyalty.ConsentErasure, CreatedAt: at(3)},
	}
	if diff := cmp.Diff(want, x.Consents); diff != "" {
		t.Errorf("Export.Consents (-want +got):\n%s", diff)
	}
	if x.Member.MarketingOptIn {
		t.Errorf("erased member still opted in")
	}
	// A member who never said yes is recorded once, as enrolled.
	n := NewMember(t, s, "demo")
	if x, err := s.Export(ctx, n.ID); err != nil || len(x.Consents) != 1 || x.Consents[0].MarketingOptIn {
		t.Errorf("Export(new member).Consents = %+v, %v; want one opt-out", x.Consents, err)
	}
}

// searchIDs runs a search and answers the ids of its one page.
func searchIDs(t *testing.T, s *store.Store, q loyalty.MemberSearch) []string {
	t.Helper()
	rows, next, err := s.SearchMembers(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchMembers(%+v) = %v", q, err)
	}
	if next != "" {
		t.Fatalf("SearchMembers(%+v) answered a next page, want one page", q)
	}
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func testSearchMembers(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	mk := func(name, email, ext string) loyalty.Member {
		t.Helper()
		m := memberFor(t, "demo")
		m.Name, m.Email, m.ExternalID, m.CreatedAt = name, email, ext, clock.Now()
		if err := s.CreateMember(ctx, m, balances.NewAccount(Rules)); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
		return m
	}
	// Enrolled an hour apart, oldest first.
	ada := mk("Ada Lovelace", "ada@example.com", "crm-1")
	adam := mk("adam Smith", "ADAM@Example.org", "")
	eve := mk("Ève Durand", "eve@exemple.fr", "crm-3")
	grace := mk("Grace Hopper", "grace@navy.mil", "")
	gone := mk("Adaline Gone", "adaline@example.com", "crm-5")
	other := memberFor(t, "other")
	other.Name = "Ada Other"
	if err := s.CreateMember(ctx, other, balances.NewAccount(Rules)); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseMember(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	// Grace earns today and reaches Silver; the others were last active at
	// enrolment.
	clock.Add(10 * 24 * time.Hour)
	post(t, s, grace.ID, balances.Earn, 150)
	now := clock.Now()

	demo := loyalty.MemberSearch{Program: "demo"}
	with := func(f func(q *loyalty.MemberSearch)) loyalty.MemberSearch { q := demo; f(&q); return q }
	tests := []struct {
		name string
		q    loyalty.MemberSearch
		want []loyalty.Member
	}{
		{"all, newest first", demo, []loyalty.Member{grace, eve, adam, ada}},
		{"name prefix, any case", with(func(q *loyalty.MemberSearch) { q.Prefix = "ada" }), []loyalty.Member{adam, ada}},
		{"whole name prefix", with(func(q *loyalty.MemberSearch) { q.Prefix = "ada lovelace" }), []loyalty.Member{ada}},
		{"accented prefix", with(func(q *loyalty.MemberSearch) { q.Prefix = "ève" }), []loyalty.Member{eve}},
		{"email prefix", with(func(q *loyalty.MemberSearch) { q.Prefix = "grace@" }), []loyalty.Member{grace}},
		{"upper-case email prefix", with(func(q *loyalty.MemberSearch) { q.Prefix = "adam@example" }), []loyalty.Member{adam}},
		{"number prefix", with(func(q *loyalty.MemberSearch) { q.Prefix = eve.Number[:6] }), []loyalty.Member{eve}},
		{"no match", with(func(q *loyalty.MemberSearch) { q.Prefix = "zz" }), nil},
		{"email exact", with(func(q *loyalty.MemberSearch) { q.Email = "adam@example.org" }), []loyalty.Member{adam}},
		{"email not a prefix", with(func(q *loyalty.MemberSearch) { q.Email = "adam@example" }), nil},
		{"external id", with(func(q *loyalty.MemberSearch) { q.ExternalID = "crm-3" }), []loyalty.Member{eve}},
		{"erased external id", with(func(q *loyalty.MemberSearch) { q.ExternalID = "crm-5" }), nil},
		{"tier", with(func(q *loyalty.MemberSearch) { q.Tier = "Silver" }), []loyalty.Member{grace}},
		{"inactive 10 days", with(func(q *loyalty.MemberSearch) { q.InactiveSince = now.AddDate(0, 0, -10) }), []loyalty.Member{eve, adam, ada}},
		{"inactive 11 days", with(func(q *loyalty.MemberSearch) { q.InactiveSince = now.AddDate(0, 0, -11) }), nil},
		{"filters combine", with(func(q *loyalty.MemberSearch) { q.Prefix = "ada"; q.Tier = "Bronze"; q.ExternalID = "crm-1" }), []loyalty.Member{ada}},
		{"other program", loyalty.MemberSearch{Program: "other", Prefix: "ada"}, []loyalty.Member{other}},
	}
	for _, tc := range tests {
		want := []string{}
		for _, m := range tc.want {
			want = append(want, m.ID)
		}
		if diff := cmp.Diff(want, searchIDs(t, s, tc.q)); diff != "" {
			t.Errorf("%s: SearchMembers ids (-want +got):\n%s", tc.name, diff)
		}
	}
	rows, _, err := s.SearchMembers(ctx, with(func(q *loyalty.MemberSearch) { q.Tier = "Silver" }))
	if err != nil || len(rows) != 1 || rows[0].Account.Points != 150 || !rows[0].LastActivityAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("SearchMembers(Silver) = %+v, %v; want Grace with 150 points, active now", rows, err)
	}

	// Paging: every member once, in order, however the pages fall.
	var paged []string
	cursor := ""
	for range 10 {
		rows, next, err := s.SearchMembers(ctx, loyalty.MemberSearch{Program: "demo", Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("SearchMembers(page) = %v", err)
		}
		for _, r := range rows {
			paged = append(paged, r.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{grace.ID, eve.ID, adam.ID, ada.ID}, paged); diff != "" {
		t.Errorf("paged SearchMembers (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"!!", "eA", "MTIz", "eC5hYmM"} {
		if _, _, err := s.SearchMembers(ctx, loyalty.MemberSearch{Program: "demo", Cursor: bad}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("SearchMembers(cursor %q) = %v, want ErrBadCursor", bad, err)
		}
	}
	// A renamed member is found by the new name only.
	if _, err := s.UpdateMember(ctx, ada.ID, loyalty.ProfilePatch{Name: set("Zoë Lovelace"), Email: set("ZOE@example.com")}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, s, with(func(q *loyalty.MemberSearch) { q.Prefix = "zoë" })); len(got) != 1 || got[0] != ada.ID {
		t.Errorf("SearchMembers(zoë) = %v, want the renamed member", got)
	}
	if got := searchIDs(t, s, with(func(q *loyalty.MemberSearch) { q.Email = "zoe@example.com" })); len(got) != 1 {
		t.Errorf("SearchMembers(new email) = %v, want the renamed member", got)
	}
	if got := searchIDs(t, s, with(func(q *loyalty.MemberSearch) { q.Prefix = "ada l" })); len(got) != 0 {
		t.Errorf("SearchMembers(old name) = %v, want none", got)
	}
}

func testMemberMessages(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	// Two members per transaction, so a tier of five takes three.
	s := open(t, store.Options{Now: clock.Now, MessageBatch: 2})
	ctx := context.Background()
	ada, bob := NewMember(t, s, "demo"), NewMember(t, s, "demo")
	var silver []loyalty.Member
	for range 5 {
		m := NewMember(t, s, "demo")
		post(t, s, m.ID, balances.Earn, 150)
		silver = append(silver, m)
	}
	gone := NewMember(t, s, "demo")
	post(t, s, gone.ID, balances.Earn, 150)
	if err := s.EraseMember(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	elsewhere := NewMember(t, s, "other")
	post(t, s, elsewhere.ID, balances.Earn, 150)
	before := map[string]store.MemberRow{}
	for _, m := range append([]loyalty.Member{ada, bob, gone, elsewhere}, silver...) {
		before[m.ID] = mustMember(t, s, m.ID)
	}
	unchanged := func(ms ...loyalty.Member) {
		t.Helper()
		for _, m := range ms {
			if got := mustMember(t, s, m.ID); got.Account != before[m.ID].Account || got.UpdateSeq != before[m.ID].UpdateSeq || got.MemberMessage != before[m.ID].MemberMessage {
				t.Errorf("member %s changed: %+v, was %+v", m.ID, got, before[m.ID])
			}
		}
	}

	clock.Add(time.Second)
	if err := s.PostMemberMessage(ctx, ada.ID, "Happy birthday, Ada!"); err != nil {
		t.Fatalf("PostMemberMessage = %v", err)
	}
	at := clock.Now().Truncate(time.Microsecond)
	got := mustMember(t, s, ada.ID)
	if got.MemberMessage != "Happy birthday, Ada!" || !got.MemberMessageAt.Equal(at) || got.Account.PassVersion != before[ada.ID].Account.PassVersion+1 {
		t.Errorf("after PostMemberMessage: %+v, want the message at %v and one more pass version", got, at)
	}
	if text, when := got.CardMessage(); text != "Happy birthday, Ada!" || !when.Equal(at) {
		t.Errorf("CardMessage = %q, %v; want the member's message", text, when)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, ada.ID, ch); st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("%s sync = %+v, want pending at %d", ch, st, got.Account.PassVersion)
		}
	}
	if evs, err := s.Events(ctx, ada.ID); err != nil || len(evs) != 1 || evs[0].Kind != "message" || evs[0].Data != `{"text":"Happy birthday, Ada!"}` {
		t.Errorf("Events(ada) = %+v, %v; want one message", evs, err)
	}
	unchanged(append([]loyalty.Member{bob, gone, elsewhere}, silver...)...)
	before[ada.ID] = got

	clock.Add(time.Second)
	n, err := s.PostTierMessage(ctx, "demo", "Silver", "Silver night on Friday")
	if err != nil || n != 5 {
		t.Fatalf("PostTierMessage(Silver) = %d, %v; want 5", n, err)
	}
	for _, m := range silver {
		got := mustMember(t, s, m.ID)
		if got.MemberMessage != "Silver night on Friday" || got.Account.PassVersion != before[m.ID].Account.PassVersion+1 || got.UpdateSeq <= before[m.ID].UpdateSeq {
			t.Errorf("silver member %s: %+v, want the tier message and one more pass version", m.ID, got)
		}
		if st := syncState(t, s, m.ID, loyalty.ChannelApple); st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("silver member %s: apple sync %+v, want pending at %d", m.ID, st, got.Account.PassVersion)
		}
		if evs, err := s.Events(ctx, m.ID); err != nil || len(evs) == 0 || evs[len(evs)-1].Data != `{"text":"Silver night on Friday","tier":"Silver"}` {
			t.Errorf("Events(%s) = %+v, %v; want the tier message last", m.ID, evs, err)
		}
	}
	unchanged(ada, bob, gone, elsewhere)
	if n, err := s.PostTierMessage(ctx, "demo", "Gold", "nobody"); err != nil || n != 0 {
		t.Errorf("PostTierMessage(empty tier) = %d, %v; want 0", n, err)
	}

	// A later program message is newer than the member's own: the card
	// shows it.
	clock.Add(time.Second)
	if _, err := s.PostProgramMessage(ctx, "demo", "Closed Monday"); err != nil {
		t.Fatal(err)
	}
	if text, _ := mustMember(t, s, ada.ID).CardMessage(); text != "Closed Monday" {
		t.Errorf("CardMessage after a newer program message = %q, want it", text)
	}
	clock.Add(time.Second)
	if err := s.PostMemberMessage(ctx, bob.ID, "Your table is ready"); err != nil {
		t.Fatal(err)
	}
	if text, _ := mustMember(t, s, bob.ID).CardMessage(); text != "Your table is ready" {
		t.Errorf("CardMessage after a newer member message = %q, want it", text)
	}

	if err := s.PostMemberMessage(ctx, gone.ID, "x"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("PostMemberMessage(erased) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if err := s.PostMemberMessage(ctx, uuid.NewString(), "x"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("PostMemberMessage(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if err := s.EraseMember(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if r := mustMember(t, s, bob.ID); r.MemberMessage != "" || !r.MemberMessageAt.IsZero() {
		t.Errorf("erased member keeps message %q at %v", r.MemberMessage, r.MemberMessageAt)
	}
}
