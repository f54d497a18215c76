package store

import (
	"errors"
	"testing"
	"time"
)

// FuzzCursors: a cursor is either one the store made, which reads back
// as what made it, or ErrBadCursor; nothing else, and no panic.
func FuzzCursors(f *testing.F) {
	f.Add(encodeKeyCursor(time.Date(2030, 5, 17, 9, 30, 15, 123456000, time.UTC), "0b6f3c1e-1d7a-4a8e-9d2b-6c1f0e8a7b55"))
	f.Add(encodeSeqCursor(42))
	f.Add("")
	f.Add("not a cursor")
	f.Add("LTEuYQ")
	f.Fuzz(func(t *testing.T, c string) {
		if at, id, err := decodeKeyCursor(c); err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Errorf("decodeKeyCursor(%q) = %v, want ErrBadCursor", c, err)
			}
		} else if again := encodeKeyCursor(at, id); again != c {
			if at2, id2, err := decodeKeyCursor(again); err != nil || !at2.Equal(at) || id2 != id {
				t.Errorf("decodeKeyCursor(%q) = %v, %q; made again it reads %v, %q, %v", c, at, id, at2, id2, err)
			}
		}
		seq, err := seqBefore(c)
		switch {
		case err != nil && !errors.Is(err, ErrBadCursor):
			t.Errorf("seqBefore(%q) = %v, want ErrBadCursor", c, err)
		case err == nil && seq <= 0:
			t.Errorf("seqBefore(%q) = %d, want a positive sequence number", c, seq)
		case err == nil && c != "":
			if again, err := seqBefore(encodeSeqCursor(seq)); err != nil || again != seq {
				t.Errorf("seqBefore(encodeSeqCursor(%d)) = %d, %v", seq, again, err)
			}
		}
	})
}
