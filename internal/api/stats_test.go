package api_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// TestProgramStats: the figures of issue 13's story over HTTP, the
// window's checks, and the scope of merchant keys.
func TestProgramStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada, grace := e.enroll("Ada"), e.enroll("Grace")
	e.earn(ada["id"].(string), "e1", 100).want(t, 201, "")
	e.do("POST", "/api/v1/members/"+ada["id"].(string)+"/transactions", adminKey, map[string]any{"type": "redeem", "points": 40}, "Idempotency-Key", "r1").want(t, 201, "")
	if _, err := e.store.Register(context.Background(), loyalty.Registration{DeviceID: "d1", PushToken: "p1", PassTypeID: "pass.t", MemberID: grace["id"].(string)}); err != nil {
		t.Fatal(err)
	}

	merchant := e.newKey(loyalty.RoleMerchant, "demo")
	body := e.do("GET", "/api/v1/programs/demo/stats", merchant, nil).want(t, 200, "").body
	want := map[string]any{
		"members": 2.0, "members_active_30d": 2.0, "redemption_rate": 0.4,
		"cards_installed": map[string]any{"apple": 1.0, "google": 0.0},
		"points":          map[string]any{"issued": 100.0, "redeemed": 40.0, "expired": 0.0, "outstanding": 60.0},
		"vouchers":        map[string]any{"issued": 0.0, "used": 0.0},
	}
	for k, v := range want {
		if !reflect.DeepEqual(body[k], v) {
			t.Errorf("stats[%s] = %v, want %v", k, body[k], v)
		}
	}
	days := body["enrolments_by_day"].([]any)
	last := days[len(days)-1].(map[string]any)
	if len(days) != loyalty.DefaultStatsDays || last["date"] != time.Now().UTC().Format(time.DateOnly) || last["count"] != 2.0 {
		t.Errorf("enrolments_by_day = %d days ending %v, want %d ending today with 2", len(days), last, loyalty.DefaultStatsDays)
	}

	one := e.do("GET", "/api/v1/programs/demo/stats?from=2030-01-01&to=2030-01-03", merchant, nil).want(t, 200, "").body
	if n := len(one["enrolments_by_day"].([]any)); n != 3 || one["points"].(map[string]any)["issued"] != 0.0 || one["members"] != 2.0 {
		t.Errorf("stats of 3 days in 2030 = %v, want 3 days, none issued, still 2 members", one)
	}
	for _, q := range []string{"from=2030-01-03&to=2030-01-01", "from=yesterday", "from=2020-01-01&to=2030-01-01"} {
		e.do("GET", "/api/v1/programs/demo/stats?"+q, merchant, nil).want(t, 422, "validation_failed")
	}
	e.do("GET", "/api/v1/programs/demo/stats", e.newKey(loyalty.RolePOS, "demo"), nil).want(t, 403, "")
	e.do("POST", "/api/v1/programs", adminKey, newProgram("other")).want(t, 201, "")
	e.do("GET", "/api/v1/programs/demo/stats", e.newKey(loyalty.RoleMerchant, "other"), nil).want(t, 403, "forbidden")
}
