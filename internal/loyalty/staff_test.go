package loyalty

import (
	"errors"
	"strings"
	"testing"
)

// cheap are small argon2id parameters, so the tests stay fast under -race.
var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	for name, params := range map[string]PasswordParams{"default": DefaultPasswordParams, "cheap": cheap, "wide": {Memory: 256, Time: 3, Threads: 2}} {
		phc, err := HashPassword("correct horse battery", params)
		if err != nil {
			t.Fatal(err)
		}
		got, salt, sum, err := ParsePasswordHash(phc)
		if err != nil || got != params || len(salt) != saltLen || len(sum) != hashLen {
			t.Errorf("%s: ParsePasswordHash(%q) = %+v, %d-byte salt, %d-byte hash, %v; want %+v", name, phc, got, len(salt), len(sum), err, params)
		}
		if ok, err := CheckPassword(phc, "correct horse battery"); !ok || err != nil {
			t.Errorf("%s: CheckPassword(right) = %t, %v, want true", name, ok, err)
		}
		for _, wrong := range []string{"correct horse batterY", "", "correct horse battery "} {
			if ok, err := CheckPassword(phc, wrong); ok || err != nil {
				t.Errorf("%s: CheckPassword(%q) = %t, %v, want false", name, wrong, ok, err)
			}
		}
	}
	a, _ := HashPassword("same password here", cheap)
	b, _ := HashPassword("same password here", cheap)
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not fresh")
	}
}

func TestParsePasswordHashRefuses(t *testing.T) {
	t.Parallel()
	good, _ := HashPassword("a fine password", cheap)
	parts := strings.Split(good, "$")
	for name, phc := range map[string]string{
		"empty":       "",
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"version":     strings.Replace(good, "v=19", "v=16", 1),
		"zero memory": "$argon2id$v=19$m=0,t=1,p=1$" + parts[4] + "$" + parts[5],
		"huge memory": "$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"junk params": "$argon2id$v=19$m=64,t=1,p=1x$" + parts[4] + "$" + parts[5],
		"bad salt":    "$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"short hash":  "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$AAAA",
	} {
		if _, err := CheckPassword(phc, "a fine password"); !errors.Is(err, ErrBadPasswordHash) {
			t.Errorf("%s: CheckPassword(%q) = %v, want ErrBadPasswordHash", name, phc, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, p string
		want    error
	}{
		{"11 chars", "elevenchars", ErrPasswordTooShort},
		{"12 chars", "twelve chars", nil},
		{"12 runes, more bytes", "éééééééééééé", nil},
		{"1024 bytes", strings.Repeat("x", 1024), nil},
		{"1025 bytes", strings.Repeat("x", 1025), ErrPasswordTooLong},
	} {
		if err := ValidatePassword(tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: ValidatePassword = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestValidateStaffUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		u    StaffUser
		ok   bool
	}{
		{"merchant", StaffUser{Email: "a@example.com", Role: RoleMerchant, Program: "demo"}, true},
		{"admin", StaffUser{Email: "a@example.com", Role: RoleAdmin}, true},
		{"merchant without programme", StaffUser{Email: "a@example.com", Role: RoleMerchant}, false},
		{"pos without programme", StaffUser{Email: "a@example.com", Role: RolePOS}, false},
		{"admin with programme", StaffUser{Email: "a@example.com", Role: RoleAdmin, Program: "demo"}, false},
		{"bad role", StaffUser{Email: "a@example.com", Role: "root", Program: "demo"}, false},
		{"bad email", StaffUser{Email: "not an email", Role: RoleAdmin}, false},
	} {
		if err := ValidateStaffUser(tc.u); (err == nil) != tc.ok {
			t.Errorf("%s: ValidateStaffUser = %v, want ok %t", tc.name, err, tc.ok)
		}
	}
	if e, err := NormalizeStaffEmail("  Ada@Example.COM "); e != "ada@example.com" || err != nil {
		t.Errorf("NormalizeStaffEmail = %q, %v", e, err)
	}
}
