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
)

// Members part two: profile edits, consents, search, member messages.

func set(v string) loyalty.Field { return loyalty.Field{Set: true, Value: v} }

var null = loyalty.Field{Set: true, Null: true}

func testUpdateMember(t *testing.T, open Opener) {
	clock := NewClock(t0())
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
	clock.Advance(time.Second)

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
	clock := NewClock(t0())
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
	clock.Advance(time.Minute)
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &no}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// The same answer again is no change and is not recorded.
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &no}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{MarketingOptIn: &yes}, "console"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
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
