package testkit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 5, 17, 9, 30, 0, 0, time.UTC)
	c := testkit.NewClock(t0)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Add(time.Second); _ = c.Now() })
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("Now after 10 Adds of 1s = %v, want %v", got, t0.Add(10*time.Second))
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now after Set = %v, want %v", got, t0)
	}
}

func TestOpenSQLiteUsesOptions(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2030, 5, 17, 9, 30, 0, 0, time.UTC))
	st := testkit.OpenSQLite(t, store.Options{Now: c.Now})
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("Ping = %v", err)
	}
}

func TestPoll(t *testing.T) {
	t.Parallel()
	if testkit.Poll(20*time.Millisecond, func() bool { return false }) {
		t.Error("Poll of a condition that never holds = true")
	}
	n := 0
	if !testkit.Poll(time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("Poll = false or looked %d times, want true after 3 looks", n)
	}
	testkit.WaitFor(t, func() bool { return true })
}
