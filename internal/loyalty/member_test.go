package loyalty

import (
	"errors"
	"strings"
	"testing"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestNewNumber(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n, err := NewNumber()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidNumber(n) || n[0] == '0' {
			t.Fatalf("NewNumber() = %q, not a valid number", n)
		}
		seen[n] = true
	}
	if len(seen) < 990 {
		t.Errorf("NewNumber() gave %d distinct numbers in 1000 draws", len(seen))
	}
}

func TestValidNumberCatchesTypos(t *testing.T) {
	t.Parallel()
	n, err := NewNumber()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(n) {
		for d := byte('0'); d <= '9'; d++ {
			if d == n[i] {
				continue
			}
			typo := n[:i] + string(d) + n[i+1:]
			if ValidNumber(typo) {
				t.Errorf("ValidNumber(%q) = true for a single-digit typo of %q", typo, n)
			}
		}
	}
	for _, bad := range []string{"", "123", "12345678901", "12345a7890", " 123456789"} {
		if ValidNumber(bad) {
			t.Errorf("ValidNumber(%q) = true, want false", bad)
		}
	}
	if got := luhnDigit([]byte("7992739871")); got != '3' { // the classic Luhn example 79927398713
		t.Errorf("luhnDigit(7992739871) = %c, want 3", got)
	}
}

func TestAuthToken(t *testing.T) {
	t.Parallel()
	a, err := NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewAuthToken()
	if len(a) < 16 || a == b {
		t.Errorf("NewAuthToken() = %q, %q: want distinct tokens of >= 16 chars", a, b)
	}
}

func TestBarcodeRoundTrip(t *testing.T) {
	t.Parallel()
	n, _ := NewNumber()
	tok := BarcodeToken(secret, n)
	if strings.ToUpper(tok) != tok || !strings.HasPrefix(tok, n+"-") {
		t.Fatalf("BarcodeToken(%q) = %q, want upper-case number-MAC", n, tok)
	}
	for _, in := range []string{tok, strings.ToLower(tok), " " + tok + "\n"} {
		got, err := VerifyBarcode(secret, in)
		if err != nil || got != n {
			t.Errorf("VerifyBarcode(%q) = %q, %v, want %q", in, got, err, n)
		}
	}
}

func TestBarcodeRejectsForgeries(t *testing.T) {
	t.Parallel()
	n, _ := NewNumber()
	other, _ := NewNumber()
	tok := BarcodeToken(secret, n)
	mac := tok[len(n)+1:]
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, bad := range map[string]string{
		"other member's number with this MAC": other + "-" + mac,
		"MAC changed":                         n + "-" + flip(mac, 3),
		"MAC truncated":                       tok[:len(tok)-1],
		"no MAC":                              n,
		"bare number with dash":               n + "-",
		"other secret":                        BarcodeToken([]byte("another secret of thirty-two bytes!"), n),
		"typo in number":                      flip(n, 0) + "-" + mac,
		"empty":                               "",
		"garbage":                             "hello-world",
	} {
		if got, err := VerifyBarcode(secret, bad); !errors.Is(err, ErrInvalidBarcode) {
			t.Errorf("%s: VerifyBarcode(%q) = %q, %v, want ErrInvalidBarcode", name, bad, got, err)
		}
	}
}

func FuzzVerifyBarcode(f *testing.F) {
	n, _ := NewNumber()
	f.Add(BarcodeToken(secret, n))
	f.Add("1234567890-AAAAAAAAAAAAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		num, err := VerifyBarcode(secret, s)
		if err == nil {
			if !ValidNumber(num) || BarcodeToken(secret, num) != strings.ToUpper(strings.TrimSpace(s)) {
				t.Fatalf("VerifyBarcode(%q) accepted %q which does not round-trip", s, num)
			}
		}
	})
}
