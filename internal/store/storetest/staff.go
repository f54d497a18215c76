package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// Staff users, sessions and set-password links (store/staff.go).

func testStaff(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	ada := store.StaffUser{ID: "u1", Email: "ada@example.com", Role: loyalty.RoleMerchant, Program: "demo", PasswordHash: "h1"}
	if err := s.CreateStaffUser(ctx, ada); err != nil {
		t.Fatalf("CreateStaffUser = %v", err)
	}
	ada.CreatedAt = t0().Truncate(time.Microsecond)
	if err := s.CreateStaffUser(ctx, store.StaffUser{ID: "u2", Email: "ada@example.com", Role: loyalty.RoleAdmin}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateStaffUser(same email) = %v, want ErrDuplicate", err)
	}
	bob := store.StaffUser{ID: "u2", Email: "bob@example.com", Role: loyalty.RoleAdmin, CreatedAt: t0().Truncate(time.Microsecond)}
	if err := s.CreateStaffUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if got, err := s.StaffUserByEmail(ctx, "ada@example.com"); err != nil || !cmp.Equal(got, ada) {
		t.Errorf("StaffUserByEmail = %+v, %v, want %+v", got, err, ada)
	}
	if _, err := s.StaffUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StaffUser(unknown) = %v, want ErrNotFound", err)
	}
	if got, err := s.StaffUsers(ctx); err != nil || !cmp.Equal(got, []store.StaffUser{ada, bob}) {
		t.Errorf("StaffUsers = %+v, %v", got, err)
	}

	// Sessions: created, read with their user, touched forward only.
	for _, h := range []string{"s1", "s2"} {
		if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: h, UserID: "u1"}); err != nil {
			t.Fatalf("CreateStaffSession(%s) = %v", h, err)
		}
	}
	if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: "s9", UserID: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateStaffSession(unknown user) = %v, want ErrNotFound", err)
	}
	later := t0().Add(time.Hour).Truncate(time.Microsecond)
	if err := s.TouchStaffSession(ctx, "s1", later); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchStaffSession(ctx, "s1", t0()); err != nil {
		t.Fatal(err)
	}
	ss, u, err := s.StaffSession(ctx, "s1")
	want := store.StaffSession{IDHash: "s1", UserID: "u1", CreatedAt: t0().Truncate(time.Microsecond), LastSeenAt: later}
	if err != nil || !cmp.Equal(ss, want) || u.Email != "ada@example.com" {
		t.Errorf("StaffSession(s1) = %+v, %+v, %v, want %+v", ss, u, err, want)
	}
	if err := s.DeleteStaffSession(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StaffSession(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StaffSession(deleted) = %v, want ErrNotFound", err)
	}

	// Pruning: s1 was seen an hour in; s3 is new and fresh.
	clock.Add(2 * time.Hour)
	if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: "s3", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneStaffSessions(ctx, t0().Add(90*time.Minute), t0().Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneStaffSessions = %d, %v, want 1 (s1 idle)", n, err)
	}
	if _, _, err := s.StaffSession(ctx, "s3"); err != nil {
		t.Errorf("StaffSession(s3) after prune = %v", err)
	}
	if n, err := s.DeleteStaffSessions(ctx, "u1"); err != nil || n != 1 {
		t.Errorf("DeleteStaffSessions = %d, %v, want 1", n, err)
	}

	// Set-password links: one-time, expiring, and spending one ends the
	// user's sessions and voids the other links.
	exp := clock.Now().Add(time.Hour)
	for _, h := range []string{"t1", "t2", "t3"} {
		if err := s.CreateStaffPasswordToken(ctx, "u1", h, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: "s4", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.StaffPasswordTokenValid(ctx, "t1"); !ok || err != nil {
		t.Errorf("StaffPasswordTokenValid(t1) = %t, %v, want true", ok, err)
	}
	got, err := s.UseStaffPasswordToken(ctx, "t1", "h2")
	if err != nil || got.ID != "u1" || got.PasswordHash != "h2" {
		t.Fatalf("UseStaffPasswordToken = %+v, %v", got, err)
	}
	for _, h := range []string{"t1", "t2", "nope"} {
		if _, err := s.UseStaffPasswordToken(ctx, h, "h3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UseStaffPasswordToken(%s) after a use = %v, want ErrNotFound", h, err)
		}
	}
	if _, _, err := s.StaffSession(ctx, "s4"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after a password change = %v, want ErrNotFound", err)
	}
	if err := s.CreateStaffPasswordToken(ctx, "u1", "t4", clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Minute)
	if _, err := s.UseStaffPasswordToken(ctx, "t4", "h3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseStaffPasswordToken(expired) = %v, want ErrNotFound", err)
	}

	// Disabling ends sessions and voids links at once.
	if err := s.CreateStaffPasswordToken(ctx, "u1", "t5", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: "s5", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableStaffUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableStaffUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DisableStaffUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.StaffSession(ctx, "s5"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a disabled user = %v, want ErrNotFound", err)
	}
	if _, err := s.UseStaffPasswordToken(ctx, "t5", "h4"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link of a disabled user = %v, want ErrNotFound", err)
	}
	if err := s.CreateStaffSession(ctx, store.StaffSession{IDHash: "s6", UserID: "u1"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateStaffSession(disabled user) = %v, want ErrNotFound", err)
	}
	if u, err := s.StaffUser(ctx, "u1"); err != nil || u.DisabledAt == nil {
		t.Errorf("StaffUser(disabled) = %+v, %v, want DisabledAt set", u, err)
	}
}

func testCountMembers(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	if n, err := s.CountMembers(ctx, "demo"); err != nil || n != 0 {
		t.Errorf("CountMembers(empty) = %d, %v, want 0", n, err)
	}
	m := NewMember(t, s, "demo")
	NewMember(t, s, "demo")
	NewMember(t, s, "other")
	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountMembers(ctx, "demo"); err != nil || n != 1 {
		t.Errorf("CountMembers(demo) = %d, %v, want 1 (one erased)", n, err)
	}
}
