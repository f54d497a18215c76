package balances_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

func TestValidText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		s         string
		multiline bool
		want      bool
	}{
		{"plain", "Ada Lovelace", false, true},
		{"accents and emoji", "Zoë Ünal 🎉", false, true},
		{"empty", "", false, true},
		{"nul", "receipt\x00 1042", false, false},
		{"bell", "a\x07b", false, false},
		{"del", "a\x7fb", false, false},
		{"c1", "a\u0085b", false, false},
		{"tab", "a\tb", false, false},
		{"tab multi-line", "a\tb", true, false},
		{"newline single-line", "a\nb", false, false},
		{"newline multi-line", "line one\nline two", true, true},
		{"crlf multi-line", "line one\r\nline two", true, true},
		{"invalid utf-8", "Ada \xff Lovelace", false, false},
		{"truncated rune", "caf\xc3", true, false},
		{"replacement character", "Ada \uFFFD", false, false},
		{"nul multi-line", "a\n\x00", true, false},
	} {
		if got := balances.ValidText(c.s, c.multiline); got != c.want {
			t.Errorf("%s: ValidText(%q, %v) = %v, want %v", c.name, c.s, c.multiline, got, c.want)
		}
	}
}

func TestCheckTextNamesTheField(t *testing.T) {
	t.Parallel()
	v := &balances.ValidationError{}
	if v.CheckText("reference", "receipt\x001042", false) {
		t.Fatal("CheckText accepted a NUL")
	}
	if !v.CheckText("text", "two\nlines", true) {
		t.Fatal("CheckText refused a line break in a multi-line text")
	}
	if len(v.Fields) != 1 || v.Fields[0].Field != "reference" || v.Fields[0].Reason != balances.ReasonText {
		t.Fatalf("CheckText fields = %+v, want one for reference", v.Fields)
	}
}

// FuzzValidText checks ValidText against its definition rune by rune.
func FuzzValidText(f *testing.F) {
	for _, s := range []string{"", "Ada", "a\x00b", "a\nb", "\xff", "\uFFFD", "a\r\nb", "\u0085"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		got := balances.ValidText(s, multiline)
		want := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
			if multiline && (r == '\n' || r == '\r') {
				return false
			}
			return r == utf8.RuneError || unicode.IsControl(r)
		})
		if got != want {
			t.Fatalf("ValidText(%q, %v) = %v, want %v", s, multiline, got, want)
		}
		if got {
			// What passes stays valid in any storage: no NUL, valid UTF-8.
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
				t.Fatalf("ValidText(%q) let a NUL or invalid UTF-8 through", s)
			}
		}
	})
}
