package api_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/testkit"
)

// newClockEnv is newEnv with clk as the clock of the API and the store.
func newClockEnv(t *testing.T, clk *testkit.Clock) *env {
	t.Helper()
	st := testkit.OpenSQLite(t, store.Options{Now: clk.Now})
	svc := seededPrograms(t, st)
	e := serve(t, api.Config{
		Deps: surface.Deps{
			Store: st, Programs: svc.Catalog(), Secret: secret, Links: links.New(secret, "https://passd.example"),
			Logger: slog.New(slog.DiscardHandler), Now: clk.Now,
		},
		BootstrapAdminKey: adminKey, ProgramEditor: svc,
	})
	e.programs = svc
	return e
}

func (e *env) reward(key string, body map[string]any) map[string]any {
	e.t.Helper()
	return e.do("POST", "/api/v1/programs/demo/rewards", key, body).want(e.t, 201, "").body
}

func (e *env) redeem(memberID, key, idem, rewardID string) answer {
	e.t.Helper()
	return e.do("POST", "/api/v1/members/"+memberID+"/redemptions", key, map[string]any{"reward_id": rewardID}, "Idempotency-Key", idem)
}

func (e *env) use(code, key, idem string) answer {
	e.t.Helper()
	return e.do("POST", "/api/v1/vouchers/"+code+"/use", key, nil, "Idempotency-Key", idem)
}

func TestRewardCatalogue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	merchant, pos := e.newKey("merchant", "demo"), e.newKey("pos", "demo")
	coffee := e.reward(merchant, map[string]any{"name": "Coffee", "cost_points": 100})
	if coffee["id"] == "" || coffee["valid_days"] != float64(30) || coffee["active"] != true || coffee["program"] != "demo" || coffee["min_tier"] != nil {
		t.Errorf("POST rewards = %v, want an id, valid_days 30, active, no min_tier", coffee)
	}
	mug := e.reward(merchant, map[string]any{"name": "Mug", "cost_points": 900, "description": "A mug", "min_tier": "Silver", "valid_days": 7, "active": true})
	e.reward(merchant, map[string]any{"name": "Old", "cost_points": 5, "active": false})

	// Validation names every field; pos may not create.
	bad := e.do("POST", "/api/v1/programs/demo/rewards", merchant,
		map[string]any{"name": "", "cost_points": 0, "valid_days": 3651, "min_tier": "Platinum"}).want(t, 422, "validation_failed")
	wantFields(t, bad, "name", "cost_points", "valid_days", "min_tier")
	wantFields(t, e.do("POST", "/api/v1/programs/demo/rewards", merchant, map[string]any{}).want(t, 422, "validation_failed"), "name", "cost_points")
	e.do("POST", "/api/v1/programs/demo/rewards", merchant, map[string]any{"name": "x", "cost_points": 1_000_000_001}).want(t, 422, "validation_failed")
	e.do("POST", "/api/v1/programs/demo/rewards", merchant, map[string]any{"name": "x", "cost_points": "1"}).want(t, 400, "malformed_json")
	e.do("POST", "/api/v1/programs/demo/rewards", pos, map[string]any{"name": "x", "cost_points": 1}).want(t, 403, "forbidden")
	e.do("POST", "/api/v1/programs/nope/rewards", adminKey, map[string]any{"name": "x", "cost_points": 1}).want(t, 404, "not_found")

	list := e.do("GET", "/api/v1/programs/demo/rewards", pos, nil).want(t, 200, "")
	var names []string
	for _, it := range list.body["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"Coffee", "Mug"}) {
		t.Errorf("GET rewards = %v, want the active Coffee and Mug", names)
	}

	// PATCH: a merge patch, checked whole.
	id := mug["id"].(string)
	got := e.do("PATCH", "/api/v1/rewards/"+id, merchant, map[string]any{"cost_points": 800, "min_tier": nil}).want(t, 200, "").body
	if got["cost_points"] != float64(800) || got["min_tier"] != nil || got["name"] != "Mug" || got["description"] != "A mug" || got["valid_days"] != float64(7) {
		t.Errorf("PATCH reward = %v, want cost 800, no min_tier, the rest kept", got)
	}
	wantFields(t, e.do("PATCH", "/api/v1/rewards/"+id, merchant, map[string]any{"valid_days": 0, "name": nil}).want(t, 422, "validation_failed"), "valid_days", "name")
	// An answer sent back is a valid patch.
	e.do("PATCH", "/api/v1/rewards/"+id, merchant, got).want(t, 200, "")
	e.do("PATCH", "/api/v1/rewards/"+id, merchant, map[string]any{"active": false}).want(t, 200, "")
	e.do("PATCH", "/api/v1/rewards/"+id, merchant, map[string]any{"colour": "red"}).want(t, 400, "malformed_json")
	e.do("PATCH", "/api/v1/rewards/"+id, merchant, "[1]").want(t, 400, "malformed_json")
	e.do("PATCH", "/api/v1/rewards/"+id, pos, map[string]any{"active": true}).want(t, 403, "forbidden")
	e.do("PATCH", "/api/v1/rewards/not-a-uuid", merchant, map[string]any{}).want(t, 404, "not_found")
	e.do("PATCH", "/api/v1/rewards/"+strings.Repeat("0", 8)+"-0000-4000-8000-000000000000", merchant, map[string]any{}).want(t, 404, "not_found")
	list = e.do("GET", "/api/v1/programs/demo/rewards", pos, nil).want(t, 200, "")
	if n := len(list.body["items"].([]any)); n != 1 {
		t.Errorf("GET rewards after deactivating Mug = %d items, want 1", n)
	}

	// Another programme's key sees neither the list nor the reward.
	e.do("POST", "/api/v1/programs", adminKey, newProgram("shop")).want(t, 201, "")
	shop := e.newKey("merchant", "shop")
	e.do("GET", "/api/v1/programs/demo/rewards", shop, nil).want(t, 403, "forbidden")
	e.do("PATCH", "/api/v1/rewards/"+id, shop, map[string]any{"active": true}).want(t, 404, "not_found")
}

func TestRedemptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pos := e.newKey("pos", "demo")
	m := e.enroll("Ada")
	id := m["id"].(string)
	if m["vouchers_available"] != float64(0) {
		t.Errorf("new member vouchers_available = %v, want 0", m["vouchers_available"])
	}
	coffee := e.reward(adminKey, map[string]any{"name": "Coffee", "cost_points": 60})["id"].(string)
	mug := e.reward(adminKey, map[string]any{"name": "Mug", "cost_points": 10, "min_tier": "Silver"})["id"].(string)
	off := e.reward(adminKey, map[string]any{"name": "Gone", "cost_points": 10, "active": false})["id"].(string)
	e.do("POST", "/api/v1/programs", adminKey, newProgram("shop")).want(t, 201, "")
	tea := e.do("POST", "/api/v1/programs/shop/rewards", adminKey, map[string]any{"name": "Tea", "cost_points": 1}).want(t, 201, "").body["id"].(string)
	e.earn(id, "e1", 100).want(t, 201, "")

	// Refusals write nothing.
	e.redeem(id, pos, "r-short", coffee+"").want(t, 201, "") // 100 -> 40
	e.redeem(id, pos, "r-short-2", coffee).want(t, 409, "insufficient_points")
	e.redeem(id, pos, "r-tier", mug).want(t, 409, "tier_required")
	e.redeem(id, pos, "r-off", off).want(t, 409, "reward_unavailable")
	e.redeem(id, pos, "r-tea", tea).want(t, 404, "not_found")
	e.redeem(id, pos, "r-unknown", "00000000-0000-4000-8000-000000000000").want(t, 404, "not_found")
	e.redeem(id, pos, "r-junk", "junk").want(t, 404, "not_found")
	wantFields(t, e.redeem(id, pos, "r-empty", "").want(t, 422, "validation_failed"), "reward_id")
	e.do("POST", "/api/v1/members/"+id+"/redemptions", pos, map[string]any{"reward_id": coffee}).want(t, 400, "idempotency_key_required")
	e.redeem("00000000-0000-4000-8000-000000000000", pos, "r-x", coffee).want(t, 404, "not_found")
	if got := e.do("GET", "/api/v1/members/"+id, pos, nil).want(t, 200, "").body; got["points"] != float64(40) || got["vouchers_available"] != float64(1) {
		t.Errorf("member after refusals = %v points, %v vouchers; want 40, 1", got["points"], got["vouchers_available"])
	}

	// A redemption answers the voucher, the transaction and the member; a
	// replay the same; the key with another body a conflict.
	e.earn(id, "e2", 100).want(t, 201, "")
	a := e.redeem(id, pos, "r1", coffee).want(t, 201, "")
	v := a.body["voucher"].(map[string]any)
	tx := a.body["transaction"].(map[string]any)
	mem := a.body["member"].(map[string]any)
	code, _ := v["code"].(string)
	if len(code) != 10 || strings.ContainsAny(code, "01OI") || v["reward_id"] != coffee || v["status"] != "unused" || v["expires_at"] == nil {
		t.Errorf("voucher = %v, want a 10-character unambiguous unused code of coffee with expires_at", v)
	}
	if tx["type"] != "redeem" || tx["points"] != float64(-60) || tx["reference"] != "reward:"+coffee {
		t.Errorf("transaction = %v, want a redeem of 60 referencing the reward", tx)
	}
	if mem["points"] != float64(80) || mem["vouchers_available"] != float64(2) {
		t.Errorf("member = %v points, %v vouchers; want 80, 2", mem["points"], mem["vouchers_available"])
	}
	b := e.redeem(id, pos, "r1", coffee).want(t, 201, "")
	if b.header.Get("Idempotent-Replayed") != "true" || b.body["voucher"].(map[string]any)["code"] != code ||
		b.body["transaction"].(map[string]any)["id"] != tx["id"] {
		t.Errorf("replay = %s, want the same voucher and transaction, Idempotent-Replayed", b.raw)
	}
	e.redeem(id, pos, "r1", off).want(t, 409, "idempotency_conflict")
	e.redeem(id, pos, "e2", coffee).want(t, 409, "idempotency_conflict")
	if got := e.do("GET", "/api/v1/members/"+id, pos, nil).body; got["points"] != float64(80) {
		t.Errorf("points after replay and conflicts = %v, want 80", got["points"])
	}
	// A key of another programme may not redeem for this member.
	shop := e.newKey("pos", "shop")
	e.redeem(id, shop, "r-shop", coffee).want(t, 403, "forbidden")
}

func TestVouchers(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC))
	e := newClockEnv(t, clk)
	pos := e.newKey("pos", "demo")
	id := e.enroll("Ada")["id"].(string)
	coffee := e.reward(adminKey, map[string]any{"name": "Coffee", "cost_points": 10, "valid_days": 1})["id"].(string)
	e.earn(id, "e1", 100).want(t, 201, "")
	first := e.redeem(id, pos, "r1", coffee).want(t, 201, "").body["voucher"].(map[string]any)["code"].(string)
	clk.Add(time.Minute)
	second := e.redeem(id, pos, "r2", coffee).want(t, 201, "").body["voucher"].(map[string]any)["code"].(string)

	used := e.use(strings.ToLower(first), pos, "u1").want(t, 200, "").body
	if used["status"] != "used" || used["code"] != first || used["used_at"] == nil {
		t.Errorf("use = %v, want status used", used)
	}
	again := e.use(first, pos, "u1").want(t, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" || again.body["status"] != "used" {
		t.Errorf("use replay = %s, want 200 used, Idempotent-Replayed", again.raw)
	}
	e.use(first, pos, "u2").want(t, 409, "voucher_used")
	e.do("POST", "/api/v1/vouchers/"+first+"/use", pos, nil).want(t, 400, "idempotency_key_required")
	e.use("ZZZZZZZZZZ", pos, "u3").want(t, 404, "not_found")
	e.use("not-a-code", pos, "u3").want(t, 404, "not_found")

	list := e.do("GET", "/api/v1/members/"+id+"/vouchers", pos, nil).want(t, 200, "").body["items"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["code"] != second || list[1].(map[string]any)["status"] != "used" {
		t.Errorf("GET vouchers = %v, want the unused one first, then the used one", list)
	}
	if got := e.do("GET", "/api/v1/members/"+id, pos, nil).body["vouchers_available"]; got != float64(1) {
		t.Errorf("vouchers_available after use = %v, want 1", got)
	}

	// Another programme's key: the voucher is not found.
	e.do("POST", "/api/v1/programs", adminKey, newProgram("shop")).want(t, 201, "")
	shop := e.newKey("pos", "shop")
	e.use(second, shop, "u4").want(t, 404, "not_found")
	e.do("GET", "/api/v1/members/"+id+"/vouchers", shop, nil).want(t, 403, "forbidden")

	// Past expires_at: refused, shown expired, no longer counted.
	clk.Add(24 * time.Hour)
	e.use(second, pos, "u5").want(t, 409, "voucher_expired")
	list = e.do("GET", "/api/v1/members/"+id+"/vouchers", pos, nil).want(t, 200, "").body["items"].([]any)
	if list[0].(map[string]any)["status"] != "expired" {
		t.Errorf("GET vouchers after expiry = %v, want the second expired", list)
	}
	if got := e.do("GET", "/api/v1/members/"+id, pos, nil).body["vouchers_available"]; got != float64(0) {
		t.Errorf("vouchers_available after expiry = %v, want 0", got)
	}
}
