package cards

import (
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

func fieldValue(fs []map[string]any, key string) (string, bool) {
	for _, f := range fs {
		if f["key"] == key {
			v, _ := f["value"].(string)
			return v, true
		}
	}
	return "", false
}

func TestVouchersOnTheCard(t *testing.T) {
	t.Parallel()
	p := demo(t)
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	m := ada()
	m.Vouchers = []loyalty.OpenVoucher{
		{Code: "ABCDEFGH23", Reward: "Free coffee", ExpiresAt: now.Add(48 * time.Hour)},
		{Code: "XYZXYZXY45", Reward: "Mug", ExpiresAt: now.Add(time.Hour)},
		{Code: "EXPRDEXPRD", Reward: "Old", ExpiresAt: now}, // expired at now: not shown
	}
	fields := func(c Card) (aux, back []map[string]any) {
		sc := Pass(c, secret, "https://passd.example", "pass.test", "TEAM").StoreCard
		for _, f := range sc.AuxiliaryFields {
			aux = append(aux, map[string]any{"key": f.Key, "value": f.Value.String()})
		}
		for _, f := range sc.BackFields {
			back = append(back, map[string]any{"key": f.Key, "value": f.Value.String()})
		}
		return aux, back
	}

	aux, back := fields(card(m, p, now))
	if got, _ := fieldValue(aux, "rewards"); got != "2 rewards ready" {
		t.Errorf("rewards field = %q, want \"2 rewards ready\"", got)
	}
	codes, _ := fieldValue(back, "vouchers")
	if !strings.Contains(codes, "ABCDEFGH23 - Free coffee (until 2030-01-12)") || !strings.Contains(codes, "XYZXYZXY45") || strings.Contains(codes, "EXPRDEXPRD") {
		t.Errorf("vouchers back field = %q, want both unexpired codes and not the expired one", codes)
	}

	aux, _ = fields(card(m, p, now.Add(2*time.Hour)))
	if got, _ := fieldValue(aux, "rewards"); got != "1 reward ready" {
		t.Errorf("rewards field once one more expired = %q, want \"1 reward ready\"", got)
	}
	aux, back = fields(card(m, p, now.Add(72*time.Hour)))
	if _, ok := fieldValue(aux, "rewards"); ok {
		t.Errorf("rewards field when every voucher expired: present, want none")
	}
	if _, ok := fieldValue(back, "vouchers"); ok {
		t.Errorf("vouchers back field when every voucher expired: present, want none")
	}

	g := GoogleVouchers(m, p, now)
	if len(g) != 1 || g[0].Header != "2 rewards ready" || !strings.Contains(g[0].Body, "ABCDEFGH23") || strings.Contains(g[0].Body, "EXPRDEXPRD") {
		t.Errorf("GoogleVouchers = %+v, want one module of the 2 unexpired vouchers", g)
	}
	if g := GoogleVouchers(m, p, now.Add(72*time.Hour)); g != nil {
		t.Errorf("GoogleVouchers(all expired) = %+v, want none", g)
	}
}

func TestRewardsReadyLocalized(t *testing.T) {
	t.Parallel()
	fr := map[string]string{"rewards_ready_one": "1 récompense prête", "rewards_ready": "%d récompenses prêtes"}
	loc := func(k, def string) string {
		if v, ok := fr[k]; ok {
			return v
		}
		return def
	}
	for n, want := range map[int]string{0: "", 1: "1 récompense prête", 3: "3 récompenses prêtes"} {
		if got := RewardsReady(n, loc); got != want {
			t.Errorf("RewardsReady(%d) = %q, want %q", n, got, want)
		}
	}
}
