package loyalty

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/balances"
)

func tieredProgram() *Program {
	p := &Program{}
	p.ID = "demo"
	p.Tiers = []Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 100}, {Name: "Gold", Threshold: 1000}}
	return p
}

func ptr[T any](v T) *T { return &v }

func invalidFields(err error) []string {
	var ve *balances.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

func TestNewReward(t *testing.T) {
	t.Parallel()
	p := tieredProgram()
	r, err := NewReward(p, RewardInput{Name: ptr(" Coffee "), CostPoints: ptr(int64(100))})
	if err != nil || r.Name != "Coffee" || r.ValidDays != DefaultValidDays || !r.Active || r.Program != "demo" || r.MinTier != "" {
		t.Errorf("NewReward(defaults) = %+v, %v; want valid_days 30, active, program demo", r, err)
	}
	tests := []struct {
		name string
		in   RewardInput
		want []string
	}{
		{"nothing", RewardInput{}, []string{"cost_points", "name"}},
		{"every field wrong", RewardInput{Name: ptr(""), CostPoints: ptr(int64(0)), ValidDays: ptr(0), MinTier: ptr("Platinum")},
			[]string{"cost_points", "min_tier", "name", "valid_days"}},
		{"too much", RewardInput{Name: ptr(strings.Repeat("x", 201)), CostPoints: ptr(int64(1_000_000_001)), ValidDays: ptr(3651)},
			[]string{"cost_points", "name", "valid_days"}},
		{"control character", RewardInput{Name: ptr("a\x07b"), CostPoints: ptr(int64(1))}, []string{"name"}},
		{"at the limits", RewardInput{Name: ptr(strings.Repeat("é", 200)), CostPoints: ptr(int64(1_000_000_000)), ValidDays: ptr(3650), MinTier: ptr("Gold")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReward(p, tc.in)
			if got := invalidFields(err); !slices.Equal(got, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("NewReward(%s) = %v, want invalid %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestRewardPatch(t *testing.T) {
	t.Parallel()
	p := tieredProgram()
	r, _ := NewReward(p, RewardInput{Name: ptr("Coffee"), CostPoints: ptr(int64(100))})
	got, err := r.Patch(p, RewardInput{Active: ptr(false), MinTier: ptr("Silver")})
	if err != nil || got.Active || got.MinTier != "Silver" || got.Name != "Coffee" {
		t.Errorf("Patch = %+v, %v", got, err)
	}
	if _, err := r.Patch(p, RewardInput{ValidDays: ptr(-1)}); !slices.Equal(invalidFields(err), []string{"valid_days"}) {
		t.Errorf("Patch(valid_days -1) = %v, want valid_days invalid", err)
	}
}

func TestCanRedeem(t *testing.T) {
	t.Parallel()
	p := tieredProgram()
	base := Reward{Program: "demo", Active: true, MinTier: "Silver"}
	other := base
	other.Program = "other"
	off := base
	off.Active = false
	for _, tc := range []struct {
		name string
		r    Reward
		tier string
		want error
	}{
		{"below", base, "Bronze", ErrTierRequired},
		{"at", base, "Silver", nil},
		{"above", base, "Gold", nil},
		{"inactive", off, "Gold", ErrRewardUnavailable},
		{"other programme", other, "Gold", ErrRewardUnavailable},
	} {
		if err := tc.r.CanRedeem(p, tc.tier); !errors.Is(err, tc.want) {
			t.Errorf("CanRedeem(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVoucherCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		c, err := NewVoucherCode()
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(c, "01OIL") || len(c) != VoucherCodeLen {
			t.Fatalf("NewVoucherCode() = %q, want 10 unambiguous characters", c)
		}
		if n, ok := NormalizeVoucherCode(strings.ToLower(c[:5]) + "-" + c[5:]); !ok || n != c {
			t.Errorf("NormalizeVoucherCode(typed %s) = %q, %v", c, n, ok)
		}
		if seen[c] {
			t.Errorf("NewVoucherCode() repeated %s", c)
		}
		seen[c] = true
	}
	for _, bad := range []string{"", "ABC", "ABCDEFGHJ0", "ABCDEFGHJKM"} {
		if _, ok := NormalizeVoucherCode(bad); ok {
			t.Errorf("NormalizeVoucherCode(%q) ok, want not a code", bad)
		}
	}
}

func TestVoucherUseAndShown(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	v := Voucher{Status: VoucherUnused, ExpiresAt: at}
	if err := v.CanUse(at.Add(-time.Second)); err != nil || v.StatusAt(at.Add(-time.Second)) != VoucherUnused {
		t.Errorf("before expiry: CanUse = %v, status %s", err, v.StatusAt(at.Add(-time.Second)))
	}
	if err := v.CanUse(at); !errors.Is(err, ErrVoucherExpired) || v.StatusAt(at) != VoucherExpired {
		t.Errorf("at expiry: CanUse = %v, status %s; want expired", err, v.StatusAt(at))
	}
	v.Status = VoucherUsed
	if err := v.CanUse(at); !errors.Is(err, ErrVoucherUsed) {
		t.Errorf("used: CanUse = %v, want ErrVoucherUsed", err)
	}
	open := []OpenVoucher{{Code: "A", ExpiresAt: at}, {Code: "B", ExpiresAt: at.Add(time.Hour)}}
	if got := ShownVouchers(open, at); len(got) != 1 || got[0].Code != "B" {
		t.Errorf("ShownVouchers(at A's expiry) = %+v, want B only", got)
	}
}
