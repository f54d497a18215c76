package balances_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/passd/passd/balances"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text  string
		minor int64
		want  int64
	}{
		{"12", 100, 1200},
		{"12.5", 100, 1250},
		{"12,50", 100, 1250},
		{" 1 234.05 ", 100, 123405},
		{"1\u00a0234,05", 100, 123405},
		{".5", 100, 50},
		{"0.01", 100, 1},
		{"007", 100, 700},
		{"1500", 1, 1500},
		{"1.234", 1000, 1234},
		{"3", 5, 15},
		{"10000000000", 100, balances.MaxAmount},
	} {
		got, err := balances.ParseAmount("amount", tc.text, tc.minor)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q, %d) = %d, %v, want %d", tc.text, tc.minor, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		text  string
		minor int64
		msg   string
	}{
		{"", 100, "such as"},
		{"abc", 100, "digits"},
		{"-5", 100, "digits"},
		{"1e3", 100, "digits"},
		{"12.", 100, "digits"},
		{"1.2.3", 100, "digits"},
		{"1,2.3", 100, "digits"},
		{"12.345", 100, "at most 2 decimals"},
		{"12.5", 1, "whole number"},
		{"2.5", 5, "whole number"},
		{"0", 100, "more than zero"},
		{"0.00", 100, "more than zero"},
		{"10000000000.01", 100, "largest"},
		{"99999999999999999999999", 100, "largest"},
		{strings.Repeat("1", 40), 100, "such as"},
		{"5", 0, "no minor units"},
	} {
		got, err := balances.ParseAmount("amount", tc.text, tc.minor)
		var ve *balances.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "amount" || !strings.Contains(ve.Fields[0].Message, tc.msg) {
			t.Errorf("ParseAmount(%q, %d) = %d, %v, want a validation error on amount saying %q", tc.text, tc.minor, got, err, tc.msg)
		}
	}
}

// FuzzParseAmount: any text either fails with a validation error or is an
// amount in range that, written back in whole units with its decimals,
// reads the same.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12", "12,50", " 1 234.05", ".5", "0", "1.2.3", "99999999999.99"} {
		f.Add(s, int64(100))
	}
	f.Add("1.234", int64(1000))
	f.Add("7", int64(1))
	f.Add("3", int64(5))
	f.Fuzz(func(t *testing.T, text string, minor int64) {
		got, err := balances.ParseAmount("amount", text, minor)
		if err != nil {
			var ve *balances.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "amount" {
				t.Fatalf("ParseAmount(%q, %d) = %v, want a validation error on amount", text, minor, err)
			}
			return
		}
		if got < 1 || got > balances.MaxAmount || minor < 1 {
			t.Fatalf("ParseAmount(%q, %d) = %d, outside 1..MaxAmount", text, minor, got)
		}
		whole, frac := got/minor, got%minor
		back := strconv.FormatInt(whole, 10)
		if frac != 0 {
			digits := len(strconv.FormatInt(minor, 10)) - 1
			fs := strconv.FormatInt(frac, 10)
			back += "." + strings.Repeat("0", digits-len(fs)) + fs
		}
		if again, err := balances.ParseAmount("amount", back, minor); err != nil || again != got {
			t.Fatalf("ParseAmount(%q, %d) = %d, but its written form %q reads %d, %v", text, minor, got, back, again, err)
		}
	})
}
