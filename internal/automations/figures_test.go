package automations_test

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// TestFiguresJob: the runner drains every waiting figure delta, batch by
// batch, and the figures read the same before and after.
func TestFiguresJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testkit.OpenSQLite(t, store.Options{})
	for range 7 {
		storetest.NewMember(t, s, "demo")
	}
	p := &loyalty.Program{}
	p.ID = "demo"
	w, err := loyalty.StatsInput{}.Window(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.ProgramFigures(ctx, "demo", w)
	if err != nil {
		t.Fatal(err)
	}
	r := automations.New(automations.Config{Limit: 2}, automations.Figures{Store: s})
	n, err := r.RunOnce(ctx)
	if err != nil || n != 14 {
		t.Fatalf("RunOnce() = %d, %v, want 14 deltas (an enrolment and an activity per member), nil", n, err)
	}
	if n, err := r.RunOnce(ctx); n != 0 || err != nil {
		t.Errorf("RunOnce() again = %d, %v, want 0, nil", n, err)
	}
	after, err := s.ProgramFigures(ctx, "demo", w)
	if err != nil {
		t.Fatal(err)
	}
	if after.Members != 7 || after.Members != before.Members || after.Active != before.Active {
		t.Errorf("figures after folding = %+v, before %+v, want 7 members both", after, before)
	}
}
