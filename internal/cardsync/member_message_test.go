package cardsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// TestGoogleMemberMessage: a member's own message reaches that member's
// Google object as the program message does, and the newer of the two is
// what the object shows.
func TestGoogleMemberMessage(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	ada, bob := e.enroll(t, "Ada"), e.enroll(t, "Bob")
	e.mustDeliver(t, ada)
	e.mustDeliver(t, bob)

	e.clock.Add(time.Minute)
	if _, err := e.store.PostProgramMessage(context.Background(), "demo", "Closed Monday"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := e.store.PostMemberMessage(context.Background(), ada.ID, "Your cake is ready"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    loyalty.Member
		want string
	}{{"Ada", ada, "Your cake is ready"}, {"Bob", bob, "Closed Monday"}} {
		m := tc.m
		reqs := e.mustDeliver(t, m)
		patch, ok := find(reqs, "PATCH", "loyaltyObject/"+objectID(m))
		if !ok {
			t.Fatalf("%s: requests = %q, want a PATCH", tc.name, lines(reqs))
		}
		if got := dig(patch.JSON(), "textModulesData", 0, "body"); got != tc.want {
			t.Errorf("%s: text module body = %v, want %q", tc.name, got, tc.want)
		}
		add, ok := find(reqs, "POST", "loyaltyObject/"+objectID(m)+"/addMessage")
		if !ok || dig(add.JSON(), "message", "body") != tc.want {
			t.Errorf("%s: requests = %q, want the message %q added", tc.name, lines(reqs), tc.want)
		}
	}
}
