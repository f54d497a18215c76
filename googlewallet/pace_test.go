package googlewallet_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet"
)

// TestPacing: at 10 calls a second, a second's worth goes at once, then
// each call waits for its slot 100 ms after the one before.
func TestPacing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *googlewallet.Config) { c.RequestsPerSecond = 10 })
	e.withClass(t)
	for i := range 14 {
		if err := e.c.InsertObject(t.Context(), testCard(fmt.Sprintf("m-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	calls := len(e.fake.Requests())
	var want []time.Duration
	for k := 1; k <= calls-10; k++ {
		want = append(want, time.Duration(k)*100*time.Millisecond)
	}
	if got := e.sleeps.all(); !slices.Equal(got, want) {
		t.Errorf("%d calls at 10/s (clock standing still) waited %v, want none for the first 10, then %v", calls, got, want)
	}

	// Without pacing nobody waits.
	free := newEnv(t, nil)
	free.withClass(t)
	for i := range 14 {
		if err := free.c.InsertObject(t.Context(), testCard(fmt.Sprintf("m-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := free.sleeps.all(); len(got) != 0 {
		t.Errorf("unpaced calls waited %v", got)
	}
}
