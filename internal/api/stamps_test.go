package api_test

import (
	"testing"
)

// stampProgram creates programme id with a reward and, with goal, a stamp
// card of it and cashback at rateBP (0: none); it answers the reward id.
func (e *env) stampProgram(id string, goal, rateBP int) string {
	e.t.Helper()
	e.do("POST", "/api/v1/programs", adminKey, newProgram(id)).want(e.t, 201, "")
	reward := e.do("POST", "/api/v1/programs/"+id+"/rewards", adminKey, map[string]any{"name": "Free coffee", "cost_points": 100}).want(e.t, 201, "").body["id"].(string)
	patch := map[string]any{}
	if goal > 0 {
		patch["stamps"] = map[string]any{"goal": goal, "reward_id": reward}
	}
	if rateBP > 0 {
		patch["cashback"] = map[string]any{"rate_bp": rateBP}
	}
	e.do("PATCH", "/api/v1/programs/"+id, adminKey, patch, "Content-Type", "application/merge-patch+json").want(e.t, 200, "")
	return reward
}

func (e *env) enrollIn(program string) string {
	e.t.Helper()
	return e.do("POST", "/api/v1/programs/"+program+"/members", adminKey, map[string]any{"name": "Ada"}).want(e.t, 201, "").body["id"].(string)
}

func TestStampsToAVoucher(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reward := e.stampProgram("cafe", 10, 0)
	pos := e.newKey("pos", "cafe")
	id := e.enrollIn("cafe")
	m := e.do("GET", "/api/v1/members/"+id, pos, nil).want(t, 200, "").body
	if s, _ := m["stamps"].(map[string]any); s["count"] != float64(0) || s["goal"] != float64(10) || m["cashback"] != nil {
		t.Errorf("new member stamps = %v, cashback %v; want {0, 10} and no cashback", m["stamps"], m["cashback"])
	}

	a := e.transact(id, pos, "s1", map[string]any{"type": "stamp", "count": 9}).want(t, 201, "")
	if tx := a.body["transaction"].(map[string]any); tx["count"] != float64(9) || tx["points"] != float64(0) || tx["type"] != "stamp" {
		t.Errorf("stamp transaction = %v, want type stamp, count 9, no points", tx)
	}
	if vs := a.body["vouchers"].([]any); len(vs) != 0 {
		t.Errorf("vouchers of a stamp below the goal = %v, want none", vs)
	}
	// 9 + 3 of 10: one voucher, two stamps carry over.
	a = e.transact(id, pos, "s2", map[string]any{"type": "stamp", "count": 3}).want(t, 201, "")
	vs := a.body["vouchers"].([]any)
	mem := a.body["member"].(map[string]any)
	if len(vs) != 1 || vs[0].(map[string]any)["reward_id"] != reward || vs[0].(map[string]any)["status"] != "unused" {
		t.Fatalf("vouchers of the full card = %v, want one unused voucher of the reward", vs)
	}
	if s := mem["stamps"].(map[string]any); s["count"] != float64(2) || mem["vouchers_available"] != float64(1) || mem["points"] != float64(0) {
		t.Errorf("member after the full card = %v stamps, %v vouchers, %v points; want count 2, 1 voucher, 0 points", s, mem["vouchers_available"], mem["points"])
	}
	replay := e.transact(id, pos, "s2", map[string]any{"type": "stamp", "count": 3}).want(t, 201, "")
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.body["vouchers"].([]any)[0].(map[string]any)["code"] != vs[0].(map[string]any)["code"] {
		t.Errorf("replay = %s, want the same voucher, Idempotent-Replayed", replay.raw)
	}
	list := e.do("GET", "/api/v1/members/"+id+"/vouchers", pos, nil).want(t, 200, "").body["items"].([]any)
	if len(list) != 1 {
		t.Errorf("vouchers listed = %d, want 1", len(list))
	}

	// Over the goal, zero, points instead of a count: 422 naming the field.
	wantFields(t, e.transact(id, pos, "over", map[string]any{"type": "stamp", "count": 11}).want(t, 422, "validation_failed"), "count")
	wantFields(t, e.transact(id, pos, "zero", map[string]any{"type": "stamp", "count": 0}).want(t, 422, "validation_failed"), "count")
	wantFields(t, e.transact(id, pos, "none", map[string]any{"type": "stamp"}).want(t, 422, "validation_failed"), "count")
	wantFields(t, e.transact(id, pos, "pts", map[string]any{"type": "stamp", "points": 3}).want(t, 422, "validation_failed"), "count", "points")
	if got := e.do("GET", "/api/v1/members/"+id, pos, nil).body["stamps"].(map[string]any); got["count"] != float64(2) {
		t.Errorf("stamps after refusals = %v, want 2", got)
	}

	// A stamp on a programme without stamps names the type.
	demo := e.enroll("Bo")["id"].(string)
	wantFields(t, e.transact(demo, adminKey, "d1", map[string]any{"type": "stamp", "count": 1}).want(t, 422, "validation_failed"), "type")
}

func TestCashbackEarnAndSpend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stampProgram("shop", 0, 250) // 2.5 %
	pos := e.newKey("pos", "shop")
	id := e.enrollIn("shop")

	a := e.transact(id, pos, "e1", map[string]any{"type": "earn", "amount": 1999}).want(t, 201, "")
	tx, mem := a.body["transaction"].(map[string]any), a.body["member"].(map[string]any)
	// floor(1999 x 250 / 10000) = 49; 19.99 EUR earns 19 points.
	if tx["cashback"] != float64(49) || tx["points"] != float64(19) {
		t.Errorf("earn = %v, want 19 points and 49 cashback", tx)
	}
	if c := mem["cashback"].(map[string]any); c["balance"] != float64(49) || c["currency"] != "EUR" || mem["stamps"] != nil {
		t.Errorf("member cashback = %v, stamps %v; want {49, EUR}, no stamps", mem["cashback"], mem["stamps"])
	}
	if tx := e.transact(id, pos, "e2", map[string]any{"type": "earn", "points": 5}).want(t, 201, "").body["transaction"].(map[string]any); tx["cashback"] != nil {
		t.Errorf("earn in points = %v, want cashback null", tx)
	}

	// Past the balance: 409, nothing written.
	before := e.do("GET", "/api/v1/members/"+id, pos, nil).want(t, 200, "").raw
	e.transact(id, pos, "x", map[string]any{"type": "cashback_spend", "amount": 50}).want(t, 409, "insufficient_cashback")
	if after := e.do("GET", "/api/v1/members/"+id, pos, nil).want(t, 200, "").raw; after != before {
		t.Errorf("a refused spend changed the member:\nbefore %s\nafter  %s", before, after)
	}
	items := e.do("GET", "/api/v1/members/"+id+"/transactions", pos, nil).want(t, 200, "").body["items"].([]any)
	if len(items) != 2 {
		t.Errorf("transactions after the refused spend = %d, want 2", len(items))
	}
	// The key of the refused spend was not spent either.
	a = e.transact(id, pos, "x", map[string]any{"type": "cashback_spend", "amount": 40}).want(t, 201, "")
	tx, mem = a.body["transaction"].(map[string]any), a.body["member"].(map[string]any)
	if tx["cashback"] != float64(-40) || tx["points"] != float64(0) || mem["cashback"].(map[string]any)["balance"] != float64(9) || mem["points"] != float64(24) {
		t.Errorf("spend = %v, member %v; want -40 cashback, 9 left, points 24 unchanged", tx, mem)
	}
	wantFields(t, e.transact(id, pos, "y", map[string]any{"type": "cashback_spend"}).want(t, 422, "validation_failed"), "amount")
	demo := e.enroll("Bo")["id"].(string)
	wantFields(t, e.transact(demo, adminKey, "d1", map[string]any{"type": "cashback_spend", "amount": 1}).want(t, 422, "validation_failed"), "type")
}
