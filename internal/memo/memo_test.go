package memo

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestStringsIsBoundedByBytes(t *testing.T) {
	t.Parallel()
	const bound = 100 * (EntryOverhead + 10)
	c := NewStrings(bound)
	for i := range 1000 {
		c.Put("k"+strconv.Itoa(i), "v")
	}
	if b := c.Bytes(); b > bound {
		t.Errorf("Bytes() = %d, want at most %d", b, bound)
	}
	// The last keys, "k900" to "k999", weigh 5 bytes each besides the
	// overhead: the bound holds bound/(EntryOverhead+5) of them.
	if n, want := c.Len(), bound/(EntryOverhead+5); n != want {
		t.Errorf("Len() = %d after 1,000 small puts, want %d at a %d byte bound", n, want, bound)
	}
	// Larger values mean fewer entries under the same bound.
	big := strings.Repeat("x", 1000)
	for i := range 100 {
		c.Put("b"+strconv.Itoa(i), big)
	}
	if n, b := c.Len(), c.Bytes(); n > bound/1000 || b > bound {
		t.Errorf("Len(), Bytes() = %d, %d with 1 KB values, want at most %d entries and %d bytes", n, b, bound/1000, bound)
	}
	c.Put("x", "vx")
	if v, ok := c.Get("x"); !ok || v != "vx" {
		t.Errorf("Get(x) = %q, %v, want the value just put", v, ok)
	}
	// A value larger than the bound is not kept and evicts nothing.
	before := c.Len()
	c.Put("huge", strings.Repeat("h", bound))
	if _, ok := c.Get("huge"); ok || c.Len() != before {
		t.Errorf("a value over the bound was kept (Len %d, was %d)", c.Len(), before)
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := NewLRU(3*(EntryOverhead+1), func(int, byte) int { return 1 })
	c.Put(1, 'a')
	c.Put(2, 'b')
	c.Put(3, 'c')
	c.Get(1) // 2 is now the least recently used
	c.Put(4, 'd')
	if _, ok := c.Get(2); ok {
		t.Errorf("entry 2, the least recently used, was kept")
	}
	for _, k := range []int{1, 3, 4} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("entry %d was dropped", k)
		}
	}
	// Putting a key again replaces it without counting it twice.
	c.Put(4, 'e')
	if v, _ := c.Get(4); v != 'e' || c.Bytes() != 3*(EntryOverhead+1) {
		t.Errorf("after replacing 4: value %q, bytes %d, want e and %d", v, c.Bytes(), 3*(EntryOverhead+1))
	}
}

func TestGetOrCompute(t *testing.T) {
	t.Parallel()
	c := NewStrings(10 << 10)
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
