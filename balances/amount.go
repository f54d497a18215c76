package balances

import (
	"strconv"
	"strings"
)

// ParseAmount reads a purchase amount as a person types it in whole
// currency units ("12", "12.5", "12,50", "1 234.50") and answers it in
// minor units, where minorPerUnit minor units make one unit (100 for EUR,
// 1 for JPY). When minorPerUnit is a power of ten the amount may have as
// many decimals as it has zeros; otherwise only whole units are read. The
// amount must come to 1..MaxAmount minor units; anything else is a
// *ValidationError on field.
func ParseAmount(field, text string, minorPerUnit int64) (int64, error) {
	invalid := func(msg string) (int64, error) {
		v := &ValidationError{}
		v.Add(field, msg)
		return 0, v
	}
	if minorPerUnit < 1 {
		return invalid("the programme's currency has no minor units")
	}
	decimals := 0
	for p := minorPerUnit; p > 1 && p%10 == 0; p /= 10 {
		decimals++
	}
	if pow10(decimals) != minorPerUnit {
		decimals = 0
	}
	s := strings.TrimSpace(text)
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(s)
	if len(s) > 32 {
		return invalid("must be an amount such as 12.50")
	}
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" && frac == "" {
		return invalid("must be an amount such as 12.50")
	}
	if !digitsOnly(whole) || !digitsOnly(frac) || (hasFrac && frac == "") {
		return invalid("must be an amount such as 12.50 (digits, one decimal point)")
	}
	if len(frac) > decimals {
		if decimals == 0 {
			return invalid("must be a whole number of currency units")
		}
		return invalid("must have at most " + strconv.Itoa(decimals) + " decimals")
	}
	var minor int64
	for _, c := range whole {
		minor = minor*10 + int64(c-'0')
		if minor > MaxAmount {
			return invalid("must be at most the largest amount passd takes")
		}
	}
	if minor > MaxAmount/minorPerUnit {
		return invalid("must be at most the largest amount passd takes")
	}
	minor *= minorPerUnit
	var f int64
	for i := range decimals {
		f *= 10
		if i < len(frac) {
			f += int64(frac[i] - '0')
		}
	}
	minor += f
	switch {
	case minor > MaxAmount:
		return invalid("must be at most the largest amount passd takes")
	case minor < 1:
		return invalid("must be more than zero")
	}
	return minor, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
