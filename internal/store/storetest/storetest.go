// Package storetest is the conformance suite of the store: the same tests
// run against SQLite and PostgreSQL, from internal/store's tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
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

// Opener opens a fresh, empty, migrated store for one test with the given
// options, and closes it when the test ends.
type Opener func(t *testing.T, opts store.Options) *store.Store

// Rules are the loyalty rules the suite posts with: Bronze from 0, Silver
// from 100, Gold from 1000 qualifying points. Read only.
var Rules = balances.Rules{
	PointsPerUnit: 1,
	MinorPerUnit:  100,
	Tiers: []balances.Tier{
		{Name: "Bronze", Threshold: 0},
		{Name: "Silver", Threshold: 100},
		{Name: "Gold", Threshold: 1000},
	},
}

// t0 is the suite's usual clock start: not on a whole second, to catch
// truncation mistakes.
func t0() time.Time { return time.Date(2030, 5, 17, 9, 30, 15, 123456789, time.UTC) }

// Run runs the conformance suite; open is called once per test.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Migrate", testMigrate},
		{"CreateMember", testCreateMember},
		{"CreateMemberDuplicates", testCreateMemberDuplicates},
		{"MemberNotFound", testMemberNotFound},
		{"ConcurrentMemberReads", testConcurrentMemberReads},
		{"Post", testPost},
		{"PostInsufficient", testPostInsufficient},
		{"PostInvalid", testPostInvalid},
		{"PostUnknownMember", testPostUnknownMember},
		{"Idempotency", testIdempotency},
		{"ConcurrentEarns", testConcurrentEarns},
		{"ConcurrentRedeems", testConcurrentRedeems},
		{"ConcurrentReplays", testConcurrentReplays},
		{"ConcurrentMixedPosts", testConcurrentMixedPosts},
		{"RandomizedInvariants", testRandomizedInvariants},
		{"TierChangeEvent", testTierChangeEvent},
		{"PassVersionAndModified", testPassVersionAndModified},
		{"Entries", testEntries},
		{"EntriesBadCursor", testEntriesBadCursor},
		{"EraseMember", testEraseMember},
		{"TouchMember", testTouchMember},
		{"TouchProgramAndMessages", testTouchProgramAndMessages},
		{"Export", testExport},
		{"APIKeys", testAPIKeys},
		{"Registrations", testRegistrations},
		{"UpdatedSerials", testUpdatedSerials},
		{"DirtyMarks", testDirtyMarks},
		{"BurstsCoalesce", testBurstsCoalesce},
		{"Debounce", testDebounce},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseOwners", testLeaseOwners},
		{"Channels", testChannels},
		{"CompleteWithNewerVersion", testCompleteWithNewerVersion},
		{"FailAndGiveUp", testFailAndGiveUp},
		{"SyncStats", testSyncStats},
		{"CompleteMany", testCompleteMany},
		{"RegistrationsForMembers", testRegistrationsForMembers},
		{"NextDue", testNextDue},
		{"ClaimInOrder", testClaimInOrder},
		{"Programs", testPrograms},
		{"UpdateProgram", testUpdateProgram},
		{"ConcurrentProgramUpdates", testConcurrentProgramUpdates},
		{"MarkProgramCards", testMarkProgramCards},
		{"ConcurrentMarking", testConcurrentMarking},
		{"ProgramClassSync", testProgramClassSync},
		{"APIKeyList", testAPIKeyList},
		{"TouchAPIKey", testTouchAPIKey},
		{"UpdateMember", testUpdateMember},
		{"Consents", testConsents},
		{"SearchMembers", testSearchMembers},
		{"MemberMessages", testMemberMessages},
		{"GoogleCallbacks", testGoogleCallbacks},
		{"ConcurrentGoogleCallbacks", testConcurrentGoogleCallbacks},
		{"Rewards", testRewards},
		{"Redeem", testRedeem},
		{"ConcurrentRedemptions", testConcurrentRedemptions},
		{"UseVoucher", testUseVoucher},
		{"Campaigns", testCampaigns},
		{"PostEarnAmount", testPostEarnAmount},
		{"PostCampaignLocalTime", testPostCampaignLocalTime},
		{"Staff", testStaff},
		{"CountMembers", testCountMembers},
		{"PostStamps", testPostStamps},
		{"PostCashback", testPostCashback},
		{"WelcomeBonus", testWelcomeBonus},
		{"Referral", testReferral},
		{"BackfillReferralCodes", testBackfillReferralCodes},
		{"LotsFIFO", testLotsFIFO},
		{"ExpireDue", testExpireDue},
		{"ExpireConcurrently", testExpireConcurrently},
		{"RemindDue", testRemindDue},
		{"BirthdayBonus", testBirthdayBonus},
		{"DormantSpell", testDormantSpell},
		{"DormantRelook", testDormantRelook},
		{"VoucherLapse", testVoucherLapse},
		{"TierReview", testTierReview},
		{"TierRulesReview", testTierRulesReview},
		{"RateBuckets", testRateBuckets},
		{"RateBucketsConcurrent", testRateBucketsConcurrent},
		{"FailuresShared", testFailuresShared},
		{"WebhookOutbox", testWebhookOutbox},
		{"WebhookOrderPerMember", testWebhookOrderPerMember},
		{"WebhookLeaseAndDisable", testWebhookLeaseAndDisable},
		{"WebhookReleasedWithItsInstance", testWebhookReleasedWithItsInstance},
		{"ConcurrentWebhookClaimers", testConcurrentWebhookClaimers},
		{"PruneWebhooks", testPruneWebhooks},
		{"SendTestWebhook", testSendTestWebhook},
		{"Figures", testFigures},
		{"ConcurrentFigures", testConcurrentFigures},
		{"ConcurrentRegistrations", testConcurrentRegistrations},
		{"ProgramSyncHealth", testProgramSyncHealth},
		{"CountTierMembers", testCountTierMembers},
		{"EntriesOfType", testEntriesOfType},
		{"ListPages", testListPages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// NewMember stores a new member of program with a fresh account and a
// random number, ID and auth token.
func NewMember(t testing.TB, s *store.Store, program string) loyalty.Member {
	t.Helper()
	for range 5 {
		m := memberFor(t, program)
		err := s.CreateMember(context.Background(), m, balances.NewAccount(Rules))
		if errors.Is(err, store.ErrDuplicate) {
			continue
		}
		if err != nil {
			t.Fatalf("CreateMember(%s) = %v, want nil", m.ID, err)
		}
		return m
	}
	t.Fatalf("CreateMember: five duplicate numbers in a row")
	return loyalty.Member{}
}

func memberFor(t testing.TB, program string) loyalty.Member {
	t.Helper()
	num, err := loyalty.NewNumber()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := loyalty.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return loyalty.Member{
		ID: uuid.NewString(), Program: program, Number: num,
		Name: "Ada Lovelace", Email: "ada@example.com", Birthday: "1815-12-10",
		AuthToken: tok,
	}
}

func post(t *testing.T, s *store.Store, memberID string, typ balances.EntryType, points int64) store.PostResult {
	t.Helper()
	return postRules(t, s, memberID, typ, points, Rules)
}

func mustMember(t *testing.T, s *store.Store, id string) store.MemberRow {
	t.Helper()
	r, err := s.Member(context.Background(), id)
	if err != nil {
		t.Fatalf("Member(%s) = %v, want nil", id, err)
	}
	return r
}

func syncState(t *testing.T, s *store.Store, memberID, channel string) store.SyncState {
	t.Helper()
	sts, err := s.SyncStates(context.Background(), memberID)
	if err != nil {
		t.Fatalf("SyncStates(%s) = %v", memberID, err)
	}
	for _, st := range sts {
		if st.Channel == channel {
			return st
		}
	}
	t.Fatalf("SyncStates(%s) has no %s row: %+v", memberID, channel, sts)
	return store.SyncState{}
}

func testMigrate(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again = %v, want nil", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	if d := s.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
		t.Errorf("Dialect() = %q", d)
	}
}

func testCreateMember(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := memberFor(t, "demo")
	m.ExternalID = "crm-1"
	a := balances.NewAccount(Rules)
	if err := s.CreateMember(ctx, m, a); err != nil {
		t.Fatalf("CreateMember = %v", err)
	}
	want := store.MemberRow{
		Member:       m,
		Account:      a,
		PassModified: t0().Truncate(time.Second),
	}
	want.CreatedAt = t0().Truncate(time.Microsecond)
	want.LastActivityAt = want.CreatedAt // no entry yet: the enrolment
	for _, get := range []struct {
		name string
		fn   func() (store.MemberRow, error)
	}{
		{"Member", func() (store.MemberRow, error) { return s.Member(ctx, m.ID) }},
		{"MemberByNumber", func() (store.MemberRow, error) { return s.MemberByNumber(ctx, m.Number) }},
		{"MemberByExternalID", func() (store.MemberRow, error) { return s.MemberByExternalID(ctx, "demo", "crm-1") }},
	} {
		got, err := get.fn()
		if err != nil {
			t.Fatalf("%s = %v", get.name, err)
		}
		if got.UpdateSeq <= 0 {
			t.Errorf("%s: UpdateSeq = %d, want > 0", get.name, got.UpdateSeq)
		}
		got.UpdateSeq = 0
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", get.name, diff)
		}
	}
	// A given creation time is kept to the microsecond.
	m2 := memberFor(t, "demo")
	m2.CreatedAt = time.Date(2029, 1, 2, 3, 4, 5, 678901000, time.FixedZone("X", 3600))
	if err := s.CreateMember(ctx, m2, a); err != nil {
		t.Fatal(err)
	}
	if got := mustMember(t, s, m2.ID).CreatedAt; !got.Equal(m2.CreatedAt) || got.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got, m2.CreatedAt)
	}
	sts, err := s.SyncStates(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 {
		t.Fatalf("SyncStates = %+v, want apple and google", sts)
	}
	for i, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
		st := sts[i]
		if st.Channel != ch || st.WantedVersion != 1 || st.SyncedVersion != 0 || st.State != loyalty.SyncPending ||
			!st.NextAttemptAt.Equal(t0().Truncate(time.Microsecond)) {
			t.Errorf("SyncStates[%d] = %+v, want %s pending wanted 1 synced 0 due now", i, st, ch)
		}
	}
}

func testCreateMemberDuplicates(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	a := balances.NewAccount(Rules)
	m := memberFor(t, "demo")
	m.ExternalID = "crm-7"
	if err := s.CreateMember(ctx, m, a); err != nil {
		t.Fatal(err)
	}
	sameNumber := memberFor(t, "demo")
	sameNumber.Number = m.Number
	if err := s.CreateMember(ctx, sameNumber, a); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateMember(same number) = %v, want ErrDuplicate", err)
	}
	sameExt := memberFor(t, "demo")
	sameExt.ExternalID = "crm-7"
	err := s.CreateMember(ctx, sameExt, a)
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateMember(same external id) = %v, want ErrDuplicate", err)
	}
	if err != nil && !strings.Contains(err.Error(), "external id") {
		t.Errorf("CreateMember(same external id) = %q, want a message naming the external id", err)
	}
	otherProgram := memberFor(t, "other")
	otherProgram.ExternalID = "crm-7"
	if err := s.CreateMember(ctx, otherProgram, a); err != nil {
		t.Errorf("CreateMember(same external id, other program) = %v, want nil", err)
	}
	// Members without an external ID do not collide.
	NewMember(t, s, "demo")
	NewMember(t, s, "demo")
	// Nothing of a rejected member is left behind.
	if _, err := s.Member(ctx, sameExt.ID); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Member(rejected) = %v, want ErrNotFound", err)
	}
}

func testMemberNotFound(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	if _, err := s.Member(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Member(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.Member(ctx, "not-a-uuid"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Member(not a uuid) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.MemberByNumber(ctx, "1234567897"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("MemberByNumber(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.MemberByExternalID(ctx, "demo", "x"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("MemberByExternalID(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.MemberByExternalID(ctx, "demo", ""); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("MemberByExternalID(empty) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

// testConcurrentMemberReads reads many members at once, unknown ones among
// them: each caller gets its own member (PostgreSQL pipelines reads that
// arrive together, and must not mix their answers up).
func testConcurrentMemberReads(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	members := make([]loyalty.Member, 8)
	for i := range members {
		members[i] = NewMember(t, s, "demo")
	}
	const readers, rounds = 16, 50
	var wg sync.WaitGroup
	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if (g+i)%5 == 0 {
					if _, err := s.Member(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
						t.Errorf("Member(unknown) = %v, want loyalty.ErrMemberNotFound", err)
						return
					}
					continue
				}
				want := members[(g+i)%len(members)]
				got, err := s.Member(ctx, want.ID)
				if err != nil || got.ID != want.ID || got.Number != want.Number || got.AuthToken != want.AuthToken {
					t.Errorf("Member(%s) = %s %s, %v; want that member", want.ID, got.ID, got.Number, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func testPost(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	tests := []struct {
		name        string
		req         balances.Request
		wantPoints  int64
		wantDelta   int64
		wantAccount balances.Account
	}{
		{"earn", balances.Request{Type: balances.Earn, Points: 120, Reference: "till 4"}, 120, 120,
			balances.Account{Points: 120, Lifetime: 120, Qualifying: 120, Tier: "Silver", PassVersion: 2}},
		{"redeem", balances.Request{Type: balances.Redeem, Points: 50}, 70, -50,
			balances.Account{Points: 70, Lifetime: 120, Qualifying: 120, Tier: "Silver", PassVersion: 3}},
		{"adjust down", balances.Request{Type: balances.Adjust, Points: -30}, 40, -30,
			balances.Account{Points: 40, Lifetime: 120, Qualifying: 90, Tier: "Bronze", PassVersion: 4}},
		{"adjust up", balances.Request{Type: balances.Adjust, Points: 10}, 50, 10,
			balances.Account{Points: 50, Lifetime: 130, Qualifying: 100, Tier: "Silver", PassVersion: 5}},
	}
	for _, tc := range tests {
		res, err := s.Post(ctx, m.ID, "key-"+tc.name, "hash-"+tc.name, tc.req, Rules)
		if err != nil {
			t.Fatalf("Post(%s) = %v", tc.name, err)
		}
		wantEntry := balances.Entry{
			ID: res.Entry.ID, MemberID: m.ID, Type: tc.req.Type, Points: tc.wantDelta,
			BalanceAfter: tc.wantPoints, Reference: tc.req.Reference, CreatedAt: t0().Truncate(time.Microsecond),
			OccurredAt: t0().Truncate(time.Microsecond), BasePoints: tc.wantDelta,
		}
		if diff := cmp.Diff(wantEntry, res.Entry); diff != "" || res.Entry.ID == "" {
			t.Errorf("Post(%s).Entry mismatch (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.wantAccount, res.Account); diff != "" {
			t.Errorf("Post(%s).Account mismatch (-want +got):\n%s", tc.name, diff)
		}
		if res.Replayed {
			t.Errorf("Post(%s).Replayed = true", tc.name)
		}
		if got := mustMember(t, s, m.ID).Account; got != tc.wantAccount {
			t.Errorf("after %s: Member().Account = %+v, want %+v", tc.name, got, tc.wantAccount)
		}
	}
}

func testPostInsufficient(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 10)
	before := mustMember(t, s, m.ID)
	for _, req := range []balances.Request{
		{Type: balances.Redeem, Points: 11},
		{Type: balances.Adjust, Points: -11},
	} {
		_, err := s.Post(ctx, m.ID, "k-"+string(req.Type), "h", req, Rules)
		if !errors.Is(err, balances.ErrInsufficientPoints) {
			t.Errorf("Post(%+v) = %v, want ErrInsufficientPoints", req, err)
		}
	}
	after := mustMember(t, s, m.ID)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a refused post changed the member (-before +after):\n%s", diff)
	}
	entries, _, err := s.Entries(ctx, m.ID, "", 10)
	if err != nil || len(entries) != 1 {
		t.Errorf("Entries = %d entries, %v; want 1", len(entries), err)
	}
	// The key of a refused request is not burnt: it may be used once the
	// balance allows.
	post(t, s, m.ID, balances.Earn, 5)
	if _, err := s.Post(ctx, m.ID, "k-redeem", "h", balances.Request{Type: balances.Redeem, Points: 11}, Rules); err != nil {
		t.Errorf("Post(redeem 11 after earning) = %v, want nil", err)
	}
}

func testPostInvalid(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	tests := []struct {
		name string
		key  string
		req  balances.Request
	}{
		{"zero earn", "k", balances.Request{Type: balances.Earn, Points: 0}},
		{"negative redeem", "k", balances.Request{Type: balances.Redeem, Points: -1}},
		{"unknown type", "k", balances.Request{Type: "gift", Points: 1}},
		{"too many", "k", balances.Request{Type: balances.Earn, Points: balances.MaxPoints + 1}},
		{"no key", "", balances.Request{Type: balances.Earn, Points: 1}},
	}
	for _, tc := range tests {
		_, err := s.Post(ctx, m.ID, tc.key, "h", tc.req, Rules)
		var v *balances.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("Post(%s) = %v, want a *balances.ValidationError", tc.name, err)
		}
	}
}

func testPostUnknownMember(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	_, err := s.Post(context.Background(), uuid.NewString(), "k", "h", balances.Request{Type: balances.Earn, Points: 1}, Rules)
	if !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Post(unknown member) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testIdempotency(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	other := NewMember(t, s, "demo")
	req := balances.Request{Type: balances.Earn, Points: 40}
	first, err := s.Post(ctx, m.ID, "key-1", "hash-a", req, Rules)
	if err != nil {
		t.Fatal(err)
	}
	post(t, s, m.ID, balances.Earn, 5) // the account moves on
	again, err := s.Post(ctx, m.ID, "key-1", "hash-a", req, Rules)
	if err != nil {
		t.Fatalf("Post(replay) = %v", err)
	}
	if !again.Replayed || again.Entry != first.Entry {
		t.Errorf("Post(replay) = %+v, want Replayed with entry %+v", again, first.Entry)
	}
	if again.Account.Points != 45 {
		t.Errorf("Post(replay).Account.Points = %d, want the current 45", again.Account.Points)
	}
	if _, err := s.Post(ctx, m.ID, "key-1", "hash-b", balances.Request{Type: balances.Earn, Points: 41}, Rules); !errors.Is(err, balances.ErrIdempotencyConflict) {
		t.Errorf("Post(same key, other body) = %v, want ErrIdempotencyConflict", err)
	}
	// Keys are scoped to the member.
	res, err := s.Post(ctx, other.ID, "key-1", "hash-a", req, Rules)
	if err != nil || res.Replayed {
		t.Errorf("Post(other member, same key) = %+v, %v; want a new entry", res, err)
	}
	entries, _, err := s.Entries(ctx, m.ID, "", 10)
	if err != nil || len(entries) != 2 {
		t.Errorf("Entries = %d, %v; want 2 (the replay and the conflict wrote nothing)", len(entries), err)
	}
	// Pruned keys are forgotten; their entries stay.
	if n, err := s.PruneIdempotencyKeys(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneIdempotencyKeys(an hour ago) = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneIdempotencyKeys(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Errorf("PruneIdempotencyKeys(in an hour) = %d, %v; want 3", n, err)
	}
	if res, err := s.Post(ctx, m.ID, "key-1", "hash-b", balances.Request{Type: balances.Earn, Points: 41}, Rules); err != nil || res.Replayed {
		t.Errorf("Post(pruned key) = %+v, %v; want a new entry", res, err)
	}
	checkLedger(t, s, m.ID)
}

func testConcurrentEarns(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	m := NewMember(t, s, "demo")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Post(context.Background(), m.ID, "earn-"+strconv.Itoa(i), "h", balances.Request{Type: balances.Earn, Points: int64(i + 1)}, Rules)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Post(earn) = %v", err)
		}
	}
	want := int64(n * (n + 1) / 2)
	got := mustMember(t, s, m.ID)
	if got.Account.Points != want || got.Account.Lifetime != want || got.Account.PassVersion != n+1 {
		t.Errorf("after %d earns: Account = %+v, want points and lifetime %d, pass version %d", n, got.Account, want, n+1)
	}
	checkLedger(t, s, m.ID)
}

func testConcurrentRedeems(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 100)
	const n = 30 // each redeems 7: 14 fit in 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, short := 0, 0
	for i := range n {
		wg.Go(func() {
			_, err := s.Post(context.Background(), m.ID, "redeem-"+strconv.Itoa(i), "h", balances.Request{Type: balances.Redeem, Points: 7}, Rules)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, balances.ErrInsufficientPoints):
				short++
			default:
				t.Errorf("Post(redeem) = %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 14 || short != n-14 {
		t.Errorf("redeems: %d succeeded, %d insufficient; want 14 and %d", ok, short, n-14)
	}
	if got := mustMember(t, s, m.ID).Account.Points; got != 2 {
		t.Errorf("balance = %d, want 2", got)
	}
	checkLedger(t, s, m.ID)
}

func testConcurrentReplays(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	m := NewMember(t, s, "demo")
	const n = 20
	var wg sync.WaitGroup
	results := make([]store.PostResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.Post(context.Background(), m.ID, "same-key", "same-hash", balances.Request{Type: balances.Earn, Points: 25}, Rules)
		})
	}
	wg.Wait()
	replays := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Post(replay %d) = %v", i, errs[i])
		}
		if results[i].Entry.ID != results[0].Entry.ID {
			t.Errorf("Post(replay %d).Entry.ID = %s, want %s", i, results[i].Entry.ID, results[0].Entry.ID)
		}
		if results[i].Replayed {
			replays++
		}
	}
	if replays != n-1 {
		t.Errorf("%d replays, want %d", replays, n-1)
	}
	entries, _, err := s.Entries(context.Background(), m.ID, "", 50)
	if err != nil || len(entries) != 1 {
		t.Errorf("Entries = %d, %v; want exactly 1", len(entries), err)
	}
	if got := mustMember(t, s, m.ID).Account.Points; got != 25 {
		t.Errorf("balance = %d, want 25", got)
	}
}

// checkLedger checks a member's ledger against the account: the entries sum
// to the balance, each balance_after is the running sum and never negative,
// and lifetime is the sum of earns and positive adjusts.
func checkLedger(t *testing.T, s *store.Store, memberID string) {
	t.Helper()
	x, err := s.Export(context.Background(), memberID)
	if err != nil {
		t.Fatalf("Export(%s) = %v", memberID, err)
	}
	var sum, lifetime int64
	for i, e := range x.Entries {
		sum += e.Points
		if e.BalanceAfter != sum || sum < 0 {
			t.Errorf("entry %d of %s: balance_after %d, running sum %d", i, memberID, e.BalanceAfter, sum)
		}
		if e.Points > 0 && (e.Type == balances.Earn || e.Type == balances.Adjust) {
			lifetime += e.Points
		}
	}
	a := x.Member.Account
	if sum != a.Points || a.Points < 0 {
		t.Errorf("member %s: sum(entries) = %d, balance %d", memberID, sum, a.Points)
	}
	if lifetime != a.Lifetime {
		t.Errorf("member %s: earned %d, lifetime %d", memberID, lifetime, a.Lifetime)
	}
	if want := int64(len(x.Entries)) + 1; a.PassVersion < want {
		t.Errorf("member %s: pass version %d after %d entries", memberID, a.PassVersion, len(x.Entries))
	}
}

func testRandomizedInvariants(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	const seed, workers, opsPerWorker = 20300517, 4, 80
	t.Logf("seed %d", seed)
	members := make([]loyalty.Member, 5)
	for i := range members {
		members[i] = NewMember(t, s, "demo")
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range opsPerWorker {
				m := members[rng.IntN(len(members))]
				var req balances.Request
				switch rng.IntN(10) {
				case 0, 1, 2, 3:
					req = balances.Request{Type: balances.Earn, Points: 1 + rng.Int64N(300)}
				case 4, 5, 6:
					req = balances.Request{Type: balances.Redeem, Points: 1 + rng.Int64N(400)}
				default:
					p := 1 + rng.Int64N(200)
					if rng.IntN(2) == 0 {
						p = -p
					}
					req = balances.Request{Type: balances.Adjust, Points: p}
				}
				key := fmt.Sprintf("w%d-%d", w, i)
				ctx := context.Background()
				_, err := s.Post(ctx, m.ID, key, key, req, Rules)
				if err != nil && !errors.Is(err, balances.ErrInsufficientPoints) {
					t.Errorf("Post(%+v) = %v", req, err)
				}
				if rng.IntN(8) == 0 { // a client retry
					if _, err := s.Post(ctx, m.ID, key, key, req, Rules); err != nil && !errors.Is(err, balances.ErrInsufficientPoints) {
						t.Errorf("Post(retry %+v) = %v", req, err)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, m := range members {
		checkLedger(t, s, m.ID)
	}
}

func testTierChangeEvent(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	if res := post(t, s, m.ID, balances.Earn, 50); res.TierChanged {
		t.Errorf("Post(earn 50).TierChanged = true, want false")
	}
	if res := post(t, s, m.ID, balances.Earn, 60); !res.TierChanged || res.Account.Tier != "Silver" {
		t.Errorf("Post(earn 60) = %+v, want TierChanged to Silver", res)
	}
	post(t, s, m.ID, balances.Redeem, 100) // redeeming keeps the tier
	evs, err := s.Events(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != "tier_changed" || evs[0].Data != `{"from":"Bronze","to":"Silver"}` || evs[0].MemberID != m.ID {
		t.Errorf("Events = %+v, want one tier_changed Bronze to Silver", evs)
	}
	if _, err := s.Events(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Events(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testPassVersionAndModified(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	sec := t0().Truncate(time.Second)
	check := func(step string, version int64, modified time.Time, prevSeq int64) int64 {
		t.Helper()
		r := mustMember(t, s, m.ID)
		if r.Account.PassVersion != version || !r.PassModified.Equal(modified) || r.UpdateSeq <= prevSeq {
			t.Errorf("after %s: version %d, modified %v, seq %d; want %d, %v, > %d",
				step, r.Account.PassVersion, r.PassModified, r.UpdateSeq, version, modified, prevSeq)
		}
		return r.UpdateSeq
	}
	seq := check("create", 1, sec, 0)
	post(t, s, m.ID, balances.Earn, 1)
	seq = check("post 1", 2, sec.Add(time.Second), seq)
	post(t, s, m.ID, balances.Earn, 1) // same second on the clock
	seq = check("post 2", 3, sec.Add(2*time.Second), seq)
	if _, err := s.TouchMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	seq = check("touch", 4, sec.Add(3*time.Second), seq)
	clock.Add(time.Minute)
	post(t, s, m.ID, balances.Earn, 1)
	check("post a minute later", 5, sec.Add(time.Minute), seq)
}

func testEntries(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	other := NewMember(t, s, "demo")
	const n = 450
	for i := range n {
		post(t, s, m.ID, balances.Earn, int64(i+1))
	}
	post(t, s, other.ID, balances.Earn, 1)
	seen := map[string]bool{}
	var cursor string
	var sizes []int
	prev := int64(1 << 62)
	for page := 0; ; page++ {
		entries, next, err := s.Entries(ctx, m.ID, cursor, 200)
		if err != nil {
			t.Fatalf("Entries(page %d) = %v", page, err)
		}
		sizes = append(sizes, len(entries))
		for _, e := range entries {
			if seen[e.ID] || e.MemberID != m.ID {
				t.Errorf("Entries: entry %s seen twice or of another member", e.ID)
			}
			seen[e.ID] = true
			if e.Points >= prev { // points were posted increasing: newest first means decreasing
				t.Errorf("Entries: %d after %d, want newest first", e.Points, prev)
			}
			prev = e.Points
		}
		if next == "" {
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("Entries: too many pages")
		}
	}
	if diff := cmp.Diff([]int{200, 200, 50}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if len(seen) != n {
		t.Errorf("Entries: %d distinct entries, want %d", len(seen), n)
	}
	// Limits are clamped.
	if got, _, err := s.Entries(ctx, m.ID, "", 1000); err != nil || len(got) != store.MaxPageSize {
		t.Errorf("Entries(limit 1000) = %d, %v; want %d", len(got), err, store.MaxPageSize)
	}
	if got, _, err := s.Entries(ctx, m.ID, "", 0); err != nil || len(got) != store.DefaultPageSize {
		t.Errorf("Entries(limit 0) = %d, %v; want %d", len(got), err, store.DefaultPageSize)
	}
	// An exact last page has no next cursor.
	fresh := NewMember(t, s, "demo")
	post(t, s, fresh.ID, balances.Earn, 1)
	post(t, s, fresh.ID, balances.Earn, 2)
	if got, next, err := s.Entries(ctx, fresh.ID, "", 2); err != nil || len(got) != 2 || next != "" {
		t.Errorf("Entries(2 of 2) = %d, %q, %v; want 2 and no cursor", len(got), next, err)
	}
	empty := NewMember(t, s, "demo")
	if got, next, err := s.Entries(ctx, empty.ID, "", 10); err != nil || len(got) != 0 || next != "" || got == nil {
		t.Errorf("Entries(no entries) = %v, %q, %v; want an empty list", got, next, err)
	}
	if _, _, err := s.Entries(ctx, uuid.NewString(), "", 10); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Entries(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testEntriesBadCursor(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	m := NewMember(t, s, "demo")
	for _, c := range []string{"!!!", "bm90LWEtbnVtYmVy", "LTU", "MA"} { // "not-a-number", "-5", "0"
		if _, _, err := s.Entries(context.Background(), m.ID, c, 10); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Entries(cursor %q) = %v, want ErrBadCursor", c, err)
		}
	}
}

func testEraseMember(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := memberFor(t, "demo")
	m.ExternalID = "crm-9"
	if err := s.CreateMember(ctx, m, balances.NewAccount(Rules)); err != nil {
		t.Fatal(err)
	}
	post(t, s, m.ID, balances.Earn, 300)
	post(t, s, m.ID, balances.Redeem, 120)
	kept := NewMember(t, s, "demo")
	for _, r := range []store.Registration{
		{DeviceID: "phone", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t1"},
		{DeviceID: "watch", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t2"},
		{DeviceID: "phone", PassTypeID: "pass.x", MemberID: kept.ID, PushToken: "t1"},
	} {
		if _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	before := mustMember(t, s, m.ID)
	clock.Add(time.Second)
	erasedAt := clock.Now()
	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatalf("EraseMember = %v", err)
	}
	got := mustMember(t, s, m.ID)
	if got.ErasedAt == nil || !got.ErasedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("ErasedAt = %v, want %v", got.ErasedAt, clock.Now())
	}
	if got.Name != "" || got.Email != "" || got.Birthday != "" || got.ExternalID != "" {
		t.Errorf("erased member keeps personal data: %+v", got.Member)
	}
	if got.ID != m.ID || got.Number != m.Number || got.Program != m.Program || got.AuthToken != m.AuthToken {
		t.Errorf("erased member lost its identity: %+v", got.Member)
	}
	if got.Account.Points != 180 || got.Account.PassVersion != before.Account.PassVersion+1 ||
		!got.PassModified.After(before.PassModified) || got.UpdateSeq <= before.UpdateSeq {
		t.Errorf("after erase: %+v, want balance 180 and a bumped card (before %+v)", got, before)
	}
	checkLedger(t, s, m.ID)
	st := syncState(t, s, m.ID, loyalty.ChannelApple)
	if st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending {
		t.Errorf("apple sync after erase = %+v, want pending version %d", st, got.Account.PassVersion)
	}
	evs, err := s.Events(ctx, m.ID)
	if err != nil || len(evs) == 0 || evs[len(evs)-1].Kind != "erased" {
		t.Errorf("Events = %+v, %v; want a last erased event", evs, err)
	}
	if err := s.EraseMember(ctx, m.ID); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("EraseMember(again) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if err := s.EraseMember(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("EraseMember(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.Post(ctx, m.ID, "k", "h", balances.Request{Type: balances.Earn, Points: 1}, Rules); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Post(erased) = %v, want loyalty.ErrMemberNotFound", err)
	}
	// The phones keep their registrations until the voided card has had
	// time to reach them, then lose them; other members' stay.
	if regs, err := s.RegistrationsFor(ctx, m.ID); err != nil || len(regs) != 2 {
		t.Errorf("RegistrationsFor(erased) = %d, %v; want both kept for the voided card's push", len(regs), err)
	}
	if n, err := s.PruneErasedRegistrations(ctx, erasedAt); err != nil || n != 0 {
		t.Errorf("PruneErasedRegistrations(at erasure) = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneErasedRegistrations(ctx, erasedAt.Add(time.Millisecond)); err != nil || n != 2 {
		t.Errorf("PruneErasedRegistrations(after erasure) = %d, %v; want 2", n, err)
	}
	if regs, err := s.RegistrationsFor(ctx, m.ID); err != nil || len(regs) != 0 {
		t.Errorf("RegistrationsFor(erased, pruned) = %+v, %v; want none", regs, err)
	}
	if regs, err := s.RegistrationsFor(ctx, kept.ID); err != nil || len(regs) != 1 {
		t.Errorf("RegistrationsFor(other member) = %+v, %v; want its one", regs, err)
	}
	if serials, _, err := s.UpdatedSerials(ctx, "phone", "pass.x", ""); err != nil || len(serials) != 1 || serials[0] != kept.ID {
		t.Errorf("UpdatedSerials(phone) after prune = %v, %v; want only %s", serials, err, kept.ID)
	}
	if _, err := s.TouchMember(ctx, m.ID); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("TouchMember(erased) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if _, err := s.MemberByExternalID(ctx, "demo", "crm-9"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("MemberByExternalID(erased) = %v, want loyalty.ErrMemberNotFound", err)
	}
	// The external ID is free again.
	again := memberFor(t, "demo")
	again.ExternalID = "crm-9"
	if err := s.CreateMember(ctx, again, balances.NewAccount(Rules)); err != nil {
		t.Errorf("CreateMember(reused external id) = %v", err)
	}
}

func testTouchMember(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	before := mustMember(t, s, m.ID)
	got, err := s.TouchMember(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Account.PassVersion != before.Account.PassVersion+1 || got.UpdateSeq <= before.UpdateSeq || got.Name != m.Name {
		t.Errorf("TouchMember = %+v, want version %d", got, before.Account.PassVersion+1)
	}
	if diff := cmp.Diff(got, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("TouchMember answer differs from Member (-touch +member):\n%s", diff)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelGoogle); st.WantedVersion != got.Account.PassVersion {
		t.Errorf("google sync = %+v, want wanted version %d", st, got.Account.PassVersion)
	}
	if _, err := s.TouchMember(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("TouchMember(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testTouchProgramAndMessages(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	var demo []loyalty.Member
	for range 3 {
		demo = append(demo, NewMember(t, s, "demo"))
	}
	erased := NewMember(t, s, "demo")
	if err := s.EraseMember(ctx, erased.ID); err != nil {
		t.Fatal(err)
	}
	other := NewMember(t, s, "other")
	before := map[string]store.MemberRow{}
	for _, m := range append(demo, erased, other) {
		before[m.ID] = mustMember(t, s, m.ID)
	}
	if text, at, err := s.ProgramMessage(ctx, "demo"); err != nil || text != "" || !at.IsZero() {
		t.Errorf("ProgramMessage(none) = %q, %v, %v; want empty", text, at, err)
	}
	n, err := s.TouchProgram(ctx, "demo")
	if err != nil || n != 3 {
		t.Fatalf("TouchProgram = %d, %v; want 3", n, err)
	}
	clock.Add(time.Second)
	n, err = s.PostProgramMessage(ctx, "demo", "Double points this weekend")
	if err != nil || n != 3 {
		t.Fatalf("PostProgramMessage = %d, %v; want 3", n, err)
	}
	for _, m := range demo {
		got := mustMember(t, s, m.ID)
		if got.Account.PassVersion != before[m.ID].Account.PassVersion+2 || got.UpdateSeq <= before[m.ID].UpdateSeq ||
			!got.PassModified.After(before[m.ID].PassModified) {
			t.Errorf("member %s: %+v, want two bumps from %+v", m.ID, got, before[m.ID])
		}
		if got.ProgramMessage != "Double points this weekend" {
			t.Errorf("member %s: ProgramMessage %q, want the posted message", m.ID, got.ProgramMessage)
		}
		if st := syncState(t, s, m.ID, loyalty.ChannelApple); st.WantedVersion != got.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("member %s: apple sync %+v, want wanted %d", m.ID, st, got.Account.PassVersion)
		}
		evs, err := s.Events(ctx, m.ID)
		if err != nil || len(evs) != 1 || evs[0].Kind != "message" || evs[0].Data != `{"text":"Double points this weekend"}` {
			t.Errorf("Events(%s) = %+v, %v; want one message", m.ID, evs, err)
		}
	}
	for _, m := range []loyalty.Member{erased, other} {
		if got := mustMember(t, s, m.ID); got.Account != before[m.ID].Account || got.UpdateSeq != before[m.ID].UpdateSeq {
			t.Errorf("member %s (erased or other program) was touched: %+v", m.ID, got)
		}
	}
	text, at, err := s.ProgramMessage(ctx, "demo")
	if err != nil || text != "Double points this weekend" || !at.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("ProgramMessage = %q, %v, %v", text, at, err)
	}
	if err := s.SetProgramMessage(ctx, "demo", "Closed Monday"); err != nil {
		t.Fatal(err)
	}
	if text, _, err := s.ProgramMessage(ctx, "demo"); err != nil || text != "Closed Monday" {
		t.Errorf("ProgramMessage after SetProgramMessage = %q, %v", text, err)
	}
	if got := mustMember(t, s, demo[0].ID); got.ProgramMessage != "Closed Monday" {
		t.Errorf("member's ProgramMessage after SetProgramMessage = %q, want Closed Monday", got.ProgramMessage)
	}
	if got := mustMember(t, s, other.ID); got.ProgramMessage != "" {
		t.Errorf("other program's member has ProgramMessage %q, want none", got.ProgramMessage)
	}
	if n, err := s.TouchProgram(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("TouchProgram(empty program) = %d, %v; want 0", n, err)
	}
}

func testExport(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	e1 := post(t, s, m.ID, balances.Earn, 150).Entry
	e2 := post(t, s, m.ID, balances.Redeem, 20).Entry
	if _, err := s.Register(ctx, store.Registration{DeviceID: "dev1", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "tok"}); err != nil {
		t.Fatal(err)
	}
	x, err := s.Export(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mustMember(t, s, m.ID), x.Member); diff != "" {
		t.Errorf("Export.Member (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]balances.Entry{e1, e2}, x.Entries); diff != "" {
		t.Errorf("Export.Entries, oldest first (-want +got):\n%s", diff)
	}
	if len(x.Events) != 1 || x.Events[0].Kind != "tier_changed" {
		t.Errorf("Export.Events = %+v, want the tier change", x.Events)
	}
	if len(x.Registrations) != 1 || x.Registrations[0].DeviceID != "dev1" {
		t.Errorf("Export.Registrations = %+v", x.Registrations)
	}
	if len(x.Sync) != 2 {
		t.Errorf("Export.Sync = %+v, want two channels", x.Sync)
	}
	if _, err := s.Export(ctx, uuid.NewString()); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Export(unknown) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testAPIKeys(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	k := store.APIKey{ID: "key1", Hash: "aa11", Role: loyalty.RoleMerchant, Program: "demo"}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.APIKeyByHash(ctx, "aa11")
	if err != nil {
		t.Fatal(err)
	}
	k.CreatedAt = t0().Truncate(time.Microsecond)
	if diff := cmp.Diff(k, got); diff != "" {
		t.Errorf("APIKeyByHash (-want +got):\n%s", diff)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "key2", Hash: "aa11", Role: loyalty.RolePOS}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateAPIKey(same hash) = %v, want ErrDuplicate", err)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "key1", Hash: "bb22", Role: loyalty.RolePOS}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateAPIKey(same id) = %v, want ErrDuplicate", err)
	}
	if _, err := s.APIKeyByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("APIKeyByHash(unknown) = %v, want ErrNotFound", err)
	}
	clock.Add(time.Hour)
	if err := s.RevokeAPIKey(ctx, "key1"); err != nil {
		t.Fatal(err)
	}
	revokedAt := clock.Now().Truncate(time.Microsecond)
	clock.Add(time.Hour)
	if err := s.RevokeAPIKey(ctx, "key1"); err != nil {
		t.Errorf("RevokeAPIKey(again) = %v", err)
	}
	got, err = s.APIKeyByHash(ctx, "aa11")
	if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("APIKeyByHash(revoked) = %+v, %v; want RevokedAt %v", got, err, revokedAt)
	}
	if err := s.RevokeAPIKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAPIKey(unknown) = %v, want ErrNotFound", err)
	}
}

func testRegistrations(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	r := store.Registration{DeviceID: "dev1", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "tok1"}
	created, err := s.Register(ctx, r)
	if err != nil || !created {
		t.Fatalf("Register = %v, %v; want created", created, err)
	}
	clock.Add(time.Minute)
	r.PushToken = "tok2"
	created, err = s.Register(ctx, r)
	if err != nil || created {
		t.Fatalf("Register(again) = %v, %v; want updated", created, err)
	}
	if _, err := s.Register(ctx, store.Registration{DeviceID: "dev2", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "tok2"}); err != nil {
		t.Fatal(err)
	}
	regs, err := s.RegistrationsFor(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Registration{
		{DeviceID: "dev1", PushToken: "tok2", PassTypeID: "pass.x", MemberID: m.ID,
			CreatedAt: t0().Truncate(time.Microsecond), UpdatedAt: clock.Now().Truncate(time.Microsecond)},
		{DeviceID: "dev2", PushToken: "tok2", PassTypeID: "pass.x", MemberID: m.ID,
			CreatedAt: clock.Now().Truncate(time.Microsecond), UpdatedAt: clock.Now().Truncate(time.Microsecond)},
	}
	if diff := cmp.Diff(want, regs); diff != "" {
		t.Errorf("RegistrationsFor (-want +got):\n%s", diff)
	}
	if n, err := s.CountRegistrations(ctx); err != nil || n != 2 {
		t.Errorf("CountRegistrations = %d, %v; want 2", n, err)
	}
	if _, err := s.Register(ctx, store.Registration{DeviceID: "d", PassTypeID: "p", MemberID: uuid.NewString(), PushToken: "t"}); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Register(unknown member) = %v, want loyalty.ErrMemberNotFound", err)
	}
	if err := s.Unregister(ctx, "dev1", "pass.x", m.ID); err != nil {
		t.Errorf("Unregister = %v", err)
	}
	if err := s.Unregister(ctx, "dev1", "pass.x", m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Unregister(again) = %v, want ErrNotFound", err)
	}
	if _, err := s.Register(ctx, store.Registration{DeviceID: "dev3", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "tok3"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteRegistrationsByPushToken(ctx, "tok2"); err != nil || n != 1 {
		t.Errorf("DeleteRegistrationsByPushToken = %d, %v; want 1", n, err)
	}
	if n, err := s.CountRegistrations(ctx); err != nil || n != 1 {
		t.Errorf("CountRegistrations = %d, %v; want 1", n, err)
	}
	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, store.Registration{DeviceID: "dev4", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t"}); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Register(erased member) = %v, want loyalty.ErrMemberNotFound", err)
	}
}

func testUpdatedSerials(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	// A tag from before the members exist: their creation is a change.
	_, before, err := s.UpdatedSerials(ctx, "phone", "pass.x", "")
	if err != nil || before == "" {
		t.Fatalf("UpdatedSerials(no passes) = %q, %v; want a tag", before, err)
	}
	a, b, c := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	for _, m := range []loyalty.Member{a, b, c} {
		dev := "phone"
		if m.ID == c.ID {
			dev = "other-phone"
		}
		if _, err := s.Register(ctx, store.Registration{DeviceID: dev, PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t-" + dev}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{a.ID, b.ID}
	sort.Strings(want)
	// No tag, a tag from before the members, and tags the store never made
	// answer every pass of the device.
	var tag string
	for _, since := range []string{"", before, "garbage", "-1", "x", "x-1", "1.5", "x1.5", " 1"} {
		serials, next, err := s.UpdatedSerials(ctx, "phone", "pass.x", since)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(serials)
		if diff := cmp.Diff(want, serials); diff != "" || next == "" {
			t.Errorf("UpdatedSerials(%q) = %v, %q (-want +got):\n%s", since, serials, next, diff)
		}
		if since == "" {
			tag = next
		}
	}
	tag = SettledTag(t, s, "phone", "pass.x", tag)
	post(t, s, b.ID, balances.Earn, 5)
	post(t, s, c.ID, balances.Earn, 5)
	got, next, err := s.UpdatedSerials(ctx, "phone", "pass.x", tag)
	if err != nil || len(got) != 1 || got[0] != b.ID || next == "" {
		t.Errorf("UpdatedSerials(after post) = %v, %q, %v; want [%s] and a tag", got, next, err, b.ID)
	}
	SettledTag(t, s, "phone", "pass.x", next)
	if got, _, err := s.UpdatedSerials(ctx, "phone", "pass.other", ""); err != nil || len(got) != 0 {
		t.Errorf("UpdatedSerials(other pass type) = %v, %v; want nothing", got, err)
	}
}

// SettledTag asks for the device's passes changed since tag, again with
// each answer's tag, until the answer is none, and answers the last tag. On
// PostgreSQL a change is answered again while a transaction that was in
// flight at the previous call runs, so "nothing changed" shows once those
// are over; on SQLite the first call answers none.
func SettledTag(t testing.TB, s *store.Store, deviceID, passTypeID, tag string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, next, err := s.UpdatedSerials(context.Background(), deviceID, passTypeID, tag)
		if err != nil {
			t.Fatalf("UpdatedSerials(%q) = %v", tag, err)
		}
		if next == "" {
			t.Fatalf("UpdatedSerials(%q) answered no tag", tag)
		}
		if len(got) == 0 {
			return next
		}
		if s.Dialect() != store.DialectPostgres || time.Now().After(deadline) {
			t.Fatalf("UpdatedSerials(%q) = %v with nothing changed, want none", tag, got)
		}
		tag = next
		time.Sleep(10 * time.Millisecond)
	}
}

func testDirtyMarks(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	for _, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
		jobs, err := s.ClaimDue(ctx, ch, 10, time.Minute)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("ClaimDue(%s) = %+v, %v; want the new card", ch, jobs, err)
		}
		if err := s.Complete(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
		if st := syncState(t, s, m.ID, ch); st.State != loyalty.SyncOK || st.SyncedVersion != 1 {
			t.Errorf("after Complete: %+v, want ok synced 1", st)
		}
	}
	res := post(t, s, m.ID, balances.Earn, 10)
	for _, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
		st := syncState(t, s, m.ID, ch)
		if st.WantedVersion != res.Account.PassVersion || st.SyncedVersion != 1 || st.State != loyalty.SyncPending {
			t.Errorf("%s after post: %+v, want wanted %d pending", ch, st, res.Account.PassVersion)
		}
	}
}

func testBurstsCoalesce(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: 2 * time.Second})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	var last store.PostResult
	for range 10 {
		last = post(t, s, m.ID, balances.Earn, 1)
		clock.Add(100 * time.Millisecond)
	}
	for _, ch := range []string{loyalty.ChannelApple, loyalty.ChannelGoogle} {
		jobs, err := s.ClaimDue(ctx, ch, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// Dirty since creation: due at once despite the debounce, with the
		// latest version.
		want := []store.SyncJob{{MemberID: m.ID, Channel: ch, WantedVersion: last.Account.PassVersion}}
		if diff := cmp.Diff(want, jobs); diff != "" {
			t.Errorf("ClaimDue(%s) after a burst (-want +got):\n%s", ch, diff)
		}
	}
}

func testDebounce(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: 2 * time.Second})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	if err := s.Complete(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	post(t, s, m.ID, balances.Earn, 1)
	clock.Add(time.Second)
	res := post(t, s, m.ID, balances.Earn, 1) // keeps the first due time
	if jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute); err != nil || len(jobs) != 0 {
		t.Errorf("ClaimDue(within debounce) = %+v, %v; want nothing", jobs, err)
	}
	clock.Add(time.Second)
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].WantedVersion != res.Account.PassVersion {
		t.Errorf("ClaimDue(debounce over) = %+v, %v; want one job at version %d", jobs, err, res.Account.PassVersion)
	}
}

func testConcurrentClaimers(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	const n = 60
	for range n {
		NewMember(t, s, "demo")
	}
	claimed := claimConcurrently(t, 6, func() ([]string, error) {
		jobs, err := s.ClaimDue(context.Background(), loyalty.ChannelGoogle, 4, time.Hour)
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.MemberID
		}
		return ids, err
	})
	if len(claimed) != n {
		t.Errorf("%d cards claimed, want %d", len(claimed), n)
	}
}

// claimConcurrently runs claim from workers goroutines until each gets
// nothing, and answers how many times each id was claimed; an id claimed
// more than once fails the test.
func claimConcurrently(t *testing.T, workers int, claim func() ([]string, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				ids, err := claim()
				if err != nil {
					t.Errorf("claim = %v", err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					claimed[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
	return claimed
}

func testLeaseExpiry(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, 30*time.Second)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	// The worker dies. Until the lease ends, nobody else gets the job.
	clock.Add(29 * time.Second)
	if jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, 30*time.Second); err != nil || len(jobs) != 0 {
		t.Errorf("ClaimDue(leased) = %+v, %v; want nothing", jobs, err)
	}
	clock.Add(2 * time.Second)
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelApple, 10, 30*time.Second)
	if err != nil || len(jobs) != 1 || jobs[0].MemberID != m.ID {
		t.Errorf("ClaimDue(lease over) = %+v, %v; want the job again", jobs, err)
	}
}

func testCompleteWithNewerVersion(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: time.Minute})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	res := post(t, s, m.ID, balances.Earn, 1) // while the job is out
	clock.Add(time.Second)
	if err := s.Complete(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	st := syncState(t, s, m.ID, loyalty.ChannelApple)
	if st.SyncedVersion != 1 || st.WantedVersion != res.Account.PassVersion || st.State != loyalty.SyncPending ||
		!st.NextAttemptAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("after Complete of an old version: %+v, want pending and due now", st)
	}
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].WantedVersion != res.Account.PassVersion {
		t.Fatalf("ClaimDue = %+v, %v; want the newer version", jobs, err)
	}
	// A late Complete of an old version never lowers the synced version.
	if err := s.Complete(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, store.SyncJob{MemberID: m.ID, Channel: loyalty.ChannelApple, WantedVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelApple); st.SyncedVersion != res.Account.PassVersion || st.State != loyalty.SyncOK {
		t.Errorf("after a late Complete: %+v, want ok at %d", st, res.Account.PassVersion)
	}
	if err := s.Complete(ctx, store.SyncJob{MemberID: uuid.NewString(), Channel: loyalty.ChannelApple, WantedVersion: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Complete(unknown) = %v, want ErrNotFound", err)
	}
}

func testFailAndGiveUp(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	retry := clock.Now().Add(10 * time.Second)
	if err := s.Fail(ctx, jobs[0], "google: 503", retry, false); err != nil {
		t.Fatal(err)
	}
	st := syncState(t, s, m.ID, loyalty.ChannelGoogle)
	if st.Attempts != 1 || st.LastError != "google: 503" || st.State != loyalty.SyncPending || !st.NextAttemptAt.Equal(retry.Truncate(time.Microsecond)) {
		t.Errorf("after Fail: %+v", st)
	}
	if jobs, _ := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute); len(jobs) != 0 {
		t.Errorf("ClaimDue(before retry time) = %+v, want nothing", jobs)
	}
	clock.Add(10 * time.Second)
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 {
		t.Fatalf("ClaimDue(retry) = %+v, %v; want the job with 1 attempt", jobs, err)
	}
	if err := s.Fail(ctx, jobs[0], "google: 400 bad object", clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	st = syncState(t, s, m.ID, loyalty.ChannelGoogle)
	if st.State != loyalty.SyncError || st.Attempts != 2 {
		t.Errorf("after giving up: %+v, want error with 2 attempts", st)
	}
	clock.Add(time.Hour)
	if jobs, _ := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute); len(jobs) != 0 {
		t.Errorf("ClaimDue(in error) = %+v, want nothing", jobs)
	}
	if _, _, errored, err := s.SyncStats(ctx, loyalty.ChannelGoogle); err != nil || errored != 1 {
		t.Errorf("SyncStats errored = %d, %v; want 1", errored, err)
	}
	// The next change puts the card back to work.
	res := post(t, s, m.ID, balances.Earn, 3)
	st = syncState(t, s, m.ID, loyalty.ChannelGoogle)
	if st.State != loyalty.SyncPending || st.Attempts != 0 || st.WantedVersion != res.Account.PassVersion {
		t.Errorf("after a change: %+v, want pending at %d", st, res.Account.PassVersion)
	}
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue(after change) = %+v, %v", jobs, err)
	}
	// Giving up on an old version while a newer one is wanted keeps the row
	// pending.
	post(t, s, m.ID, balances.Earn, 3)
	if err := s.Fail(ctx, jobs[0], "timeout", clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelGoogle); st.State != loyalty.SyncPending {
		t.Errorf("give up on an outdated job: %+v, want pending", st)
	}
	// ResetSync clears an error state.
	jobs, _ = s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v", jobs)
	}
	if err := s.Fail(ctx, jobs[0], "gone", clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetSync(ctx, m.ID, loyalty.ChannelGoogle); err != nil {
		t.Fatal(err)
	}
	st = syncState(t, s, m.ID, loyalty.ChannelGoogle)
	if st.State != loyalty.SyncPending || st.Attempts != 0 || st.LastError != "" {
		t.Errorf("after ResetSync: %+v, want pending, no attempts, no error", st)
	}
	if jobs, _ := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute); len(jobs) != 1 {
		t.Errorf("ClaimDue(after reset) = %+v, want the job", jobs)
	}
	if err := s.ResetSync(ctx, uuid.NewString(), loyalty.ChannelGoogle); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResetSync(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.Fail(ctx, store.SyncJob{MemberID: uuid.NewString(), Channel: loyalty.ChannelGoogle}, "x", clock.Now(), false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Fail(unknown) = %v, want ErrNotFound", err)
	}
}

func testSyncStats(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	if w, o, e, err := s.SyncStats(ctx, loyalty.ChannelApple); err != nil || w != 0 || o != 0 || e != 0 {
		t.Errorf("SyncStats(empty) = %d, %v, %d, %v; want zeros", w, o, e, err)
	}
	NewMember(t, s, "demo")
	clock.Add(5 * time.Second)
	NewMember(t, s, "demo")
	clock.Add(5 * time.Second)
	w, o, e, err := s.SyncStats(ctx, loyalty.ChannelApple)
	if err != nil || w != 2 || o != 10*time.Second || e != 0 {
		t.Errorf("SyncStats = %d, %v, %d, %v; want 2 waiting, oldest 10s", w, o, e, err)
	}
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	for _, j := range jobs {
		if err := s.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if w, o, _, err := s.SyncStats(ctx, loyalty.ChannelApple); err != nil || w != 0 || o != 0 {
		t.Errorf("SyncStats(all delivered) = %d, %v, %v; want 0", w, o, err)
	}
	if w, _, _, err := s.SyncStats(ctx, loyalty.ChannelGoogle); err != nil || w != 2 {
		t.Errorf("SyncStats(google) = %d, %v; want 2", w, err)
	}
}
