package console

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
)

// TestHeldImagesBounds: the images held for previews never pass their
// count or their bytes, however many are put; the oldest go first; an
// image larger than the whole holding is not held.
func TestHeldImagesBounds(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	h := newHeldImages(clock.Now, 4, 1000)
	var ids []string
	for i := range 10 {
		id, ok := h.put("session"+strconv.Itoa(i), "demo", "logo", bytes.Repeat([]byte{byte(i)}, 300))
		if !ok {
			t.Fatalf("put(%d) refused", i)
		}
		ids = append(ids, id)
		if n, b := h.held(); n > 4 || b > 1000 {
			t.Fatalf("after %d puts: %d images, %d bytes held; want at most 4 and 1000", i+1, n, b)
		}
	}
	// 300 bytes each: three fit in 1000, the newest three.
	for i, id := range ids {
		_, ok := h.get(id, "session"+strconv.Itoa(i), "demo")
		if want := i >= 7; ok != want {
			t.Errorf("image %d held: %v, want %v", i, ok, want)
		}
	}
	// Small ones: the count bounds them.
	for i := range 6 {
		if _, ok := h.put("small"+strconv.Itoa(i), "demo", "icon", []byte{1}); !ok {
			t.Fatal("put(small) refused")
		}
	}
	if n, b := h.held(); n != 4 || b != 4 {
		t.Errorf("after six small puts: %d images, %d bytes; want the last 4, 4 bytes", n, b)
	}
	if _, ok := h.put("s", "demo", "strip", make([]byte, 1001)); ok {
		t.Error("an image larger than the holding was held")
	}
	if n, _ := h.held(); n != 4 {
		t.Errorf("a refused image changed the holding to %d images", n)
	}
}

// TestHeldImagesOwnerAndExpiry: an image is answered to its session and
// programme only, until HeldImageTTL has passed; a session's new image of
// a slot replaces its earlier one.
func TestHeldImagesOwnerAndExpiry(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	h := newHeldImages(clock.Now, MaxHeldImages, MaxHeldBytes)
	id, _ := h.put("s1", "demo", "logo", []byte("logo"))
	for _, tc := range []struct {
		name, session, program string
		ok                     bool
	}{
		{"its own", "s1", "demo", true},
		{"another session", "s2", "demo", false},
		{"another programme", "s1", "other", false},
	} {
		if img, ok := h.get(id, tc.session, tc.program); ok != tc.ok || (ok && string(img.data) != "logo") {
			t.Errorf("%s: get = %q, %v; want %v", tc.name, img.data, ok, tc.ok)
		}
	}
	if _, ok := h.get("unknown", "s1", "demo"); ok {
		t.Error("an unknown id was answered")
	}
	again, _ := h.put("s1", "demo", "logo", []byte("logo 2"))
	other, _ := h.put("s1", "demo", "strip", []byte("strip"))
	if _, ok := h.get(id, "s1", "demo"); ok {
		t.Error("a session's earlier logo stays after a new one")
	}
	if _, ok := h.get(other, "s1", "demo"); !ok {
		t.Error("a new logo took the session's strip")
	}
	clock.Add(HeldImageTTL - time.Second)
	if _, ok := h.get(again, "s1", "demo"); !ok {
		t.Error("an image expired before HeldImageTTL")
	}
	clock.Add(time.Second)
	if _, ok := h.get(again, "s1", "demo"); ok {
		t.Error("an image is answered after HeldImageTTL")
	}
	if n, _ := h.held(); n != 1 {
		t.Errorf("after the logo expired %d images are held, want the strip", n)
	}
	h.remove(other)
	if n, b := h.held(); n != 0 || b != 0 {
		t.Errorf("after remove: %d images, %d bytes", n, b)
	}
}

// TestHeldImagesConcurrent: puts and gets from many goroutines keep the
// bounds (run with -race).
func TestHeldImagesConcurrent(t *testing.T) {
	t.Parallel()
	h := newHeldImages(time.Now, 8, 800)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := "s" + strconv.Itoa(g)
				if id, ok := h.put(s, "demo", "logo@"+strconv.Itoa(i%3), make([]byte, 100)); ok {
					h.get(id, s, "demo")
				}
			}
		})
	}
	wg.Wait()
	if n, b := h.held(); n > 8 || b > 800 || b != n*100 {
		t.Errorf("after concurrent puts: %d images, %d bytes; want at most 8 and 800, 100 each", n, b)
	}
}
