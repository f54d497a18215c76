package memo

import (
	"errors"
	"strconv"
	"testing"
)

func TestStringsIsBounded(t *testing.T) {
	t.Parallel()
	c := NewStrings(100)
	for i := range 1000 {
		c.Put("k"+strconv.Itoa(i), "v")
	}
	if n := c.Len(); n > 100 {
		t.Errorf("Len() = %d, want at most 100", n)
	}
	c.Put("x", "vx")
	if v, ok := c.Get("x"); !ok || v != "vx" {
		t.Errorf("Get(x) = %q, %v, want the value just put", v, ok)
	}
}

func TestGetOrCompute(t *testing.T) {
	t.Parallel()
	c := NewStrings(10)
	calls := 0
	f := func() (string, error) { calls++; return "computed", nil }
	for range 3 {
		if v, err := c.GetOrCompute("k", f); err != nil || v != "computed" {
			t.Fatalf("GetOrCompute = %q, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times, want once", calls)
	}
	boom := errors.New("boom")
	if _, err := c.GetOrCompute("e", func() (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("GetOrCompute error = %v, want boom", err)
	}
	if _, ok := c.Get("e"); ok {
		t.Errorf("a failed computation was kept")
	}
}
