package api_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// fields answers the fields a validation_failed answer names.
func (a answer) fields() []string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// wantFields checks a 422 validation_failed that names exactly fields.
func (a answer) wantFields(t *testing.T, name string, fields ...string) {
	t.Helper()
	got := a.fields()
	slices.Sort(got)
	slices.Sort(fields)
	if a.status != 422 || a.body["code"] != "validation_failed" || !slices.Equal(got, fields) {
		t.Errorf("%s: %d %s, want 422 validation_failed naming %v", name, a.status, a.raw, fields)
	}
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (e *env) transact(id, key, idem string, body map[string]any) answer {
	e.t.Helper()
	return e.do("POST", "/api/v1/members/"+id+"/transactions", key, body, "Idempotency-Key", idem)
}

func tx(a answer) map[string]any { return a.body["transaction"].(map[string]any) }

func TestEarnAmount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	pos := e.newKey("pos", "demo")

	// The demo programme earns 10 points a euro: 12.99 EUR is 129 points.
	a := e.transact(id, pos, "a1", map[string]any{"type": "earn", "amount": 1299, "reference": "till 4"}).want(t, 201, "")
	got := tx(a)
	if got["points"] != float64(129) || got["amount"] != float64(1299) || got["base_points"] != float64(129) ||
		got["bonus_points"] != float64(0) || got["campaign_id"] != nil || got["occurred_at"] != got["created_at"] {
		t.Errorf("earn 1299 = %v, want 129 points, base 129, no bonus nor campaign, occurred_at = created_at", got)
	}
	if m := a.body["member"].(map[string]any); m["points"] != float64(129) {
		t.Errorf("member after earn = %v, want 129 points", m)
	}
	// A purchase too small for a point does not fail the till.
	small := tx(e.transact(id, pos, "a2", map[string]any{"type": "earn", "amount": 5}).want(t, 201, ""))
	if small["points"] != float64(0) || small["amount"] != float64(5) || small["balance_after"] != float64(129) {
		t.Errorf("earn 5 cents = %v, want 0 points, balance 129", small)
	}
	// Points given are added as before, and say so.
	pts := tx(e.transact(id, pos, "a3", map[string]any{"type": "earn", "points": 7}).want(t, 201, ""))
	if pts["points"] != float64(7) || pts["base_points"] != float64(7) || pts["amount"] != nil {
		t.Errorf("earn 7 points = %v, want base 7, no amount", pts)
	}

	replay := e.transact(id, pos, "a1", map[string]any{"type": "earn", "amount": 1299, "reference": "till 4"}).want(t, 201, "")
	if tx(replay)["id"] != got["id"] || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %v, want transaction %v again", replay.raw, got["id"])
	}
	e.transact(id, pos, "a1", map[string]any{"type": "earn", "amount": 1300, "reference": "till 4"}).want(t, 409, "idempotency_conflict")
	e.transact(id, pos, "a3", map[string]any{"type": "earn", "amount": 7}).want(t, 409, "idempotency_conflict")

	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"both":              {map[string]any{"type": "earn", "points": 5, "amount": 500}, "amount"},
		"both, amount 0":    {map[string]any{"type": "earn", "points": 5, "amount": 0}, "amount"},
		"neither":           {map[string]any{"type": "earn"}, "points"},
		"amount 0":          {map[string]any{"type": "earn", "amount": 0}, "amount"},
		"negative amount":   {map[string]any{"type": "earn", "amount": -100}, "amount"},
		"amount over 10^12": {map[string]any{"type": "earn", "amount": 1_000_000_000_001}, "amount"},
		"amount on redeem":  {map[string]any{"type": "redeem", "points": 1, "amount": 100}, "amount"},
	} {
		e.transact(id, pos, "v-"+name, tc.body).wantFields(t, name, tc.field)
	}
	if m := e.do("GET", "/api/v1/members/"+id, pos, nil).want(t, 200, "").body; m["points"] != float64(136) {
		t.Errorf("member = %v, want 136 points (nothing written by the refused ones)", m)
	}
}

func TestOccurredAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	pos, merchant := e.newKey("pos", "demo"), e.newKey("merchant", "demo")
	now := time.Now()
	earn := func(at time.Time) map[string]any {
		return map[string]any{"type": "earn", "points": 10, "occurred_at": rfc(at)}
	}

	back29 := now.Add(-29 * 24 * time.Hour).Truncate(time.Second)
	a := tx(e.transact(id, pos, "o1", earn(back29)).want(t, 201, ""))
	if a["occurred_at"] != rfc(back29) {
		t.Errorf("occurred_at = %v, want %s as given", a["occurred_at"], rfc(back29))
	}
	e.transact(id, pos, "o2", earn(now.Add(-31*24*time.Hour))).wantFields(t, "pos 31 days back", "occurred_at")
	e.transact(id, merchant, "o3", earn(now.Add(-31*24*time.Hour))).want(t, 201, "")
	e.transact(id, merchant, "o4", earn(now.AddDate(-4, -11, 0))).want(t, 201, "")
	e.transact(id, merchant, "o5", earn(now.AddDate(-5, 0, -1))).wantFields(t, "merchant 5 years and a day back", "occurred_at")
	e.transact(id, adminKey, "o6", earn(now.Add(6*time.Minute))).wantFields(t, "6 minutes ahead", "occurred_at")
	e.transact(id, pos, "o7", earn(now.Add(4*time.Minute))).want(t, 201, "")
	e.transact(id, pos, "o8", map[string]any{"type": "redeem", "points": 1, "occurred_at": "yesterday"}).wantFields(t, "not RFC 3339", "occurred_at")
	e.transact(id, pos, "o9", map[string]any{"type": "earn", "occurred_at": "yesterday"}).wantFields(t, "two bad fields", "points", "occurred_at")

	// The time is part of the request a key stands for: the same instant
	// written in another zone replays, another instant conflicts.
	paris := time.FixedZone("CET", 3600)
	replay := e.transact(id, pos, "o1", map[string]any{"type": "earn", "points": 10, "occurred_at": back29.In(paris).Format(time.RFC3339)}).want(t, 201, "")
	if tx(replay)["id"] != a["id"] {
		t.Errorf("replay in another zone = %v, want transaction %v", replay.raw, a["id"])
	}
	e.transact(id, pos, "o1", earn(back29.Add(time.Second))).want(t, 409, "idempotency_conflict")
	e.transact(id, pos, "o1", map[string]any{"type": "earn", "points": 10}).want(t, 409, "idempotency_conflict")
}

func TestCampaigns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	pos, merchant := e.newKey("pos", "demo"), e.newKey("merchant", "demo")
	now := time.Now()
	path := "/api/v1/programs/demo/campaigns"

	double := e.do("POST", path, merchant, map[string]any{"name": "Double days", "multiplier": 2,
		"starts_at": rfc(now.Add(-time.Hour)), "ends_at": rfc(now.Add(time.Hour))}).want(t, 201, "")
	cid, _ := double.body["id"].(string)
	if cid == "" || double.body["multiplier"] != float64(2) || double.body["program"] != "demo" ||
		double.header.Get("Location") != "/api/v1/campaigns/"+cid || double.body["local_hours"] != nil || double.body["min_tier"] != nil {
		t.Errorf("create = %s, Location %q", double.raw, double.header.Get("Location"))
	}
	gold := e.do("POST", path, merchant, map[string]any{"name": "Gold x5", "multiplier": 5, "min_tier": "Gold",
		"starts_at": rfc(now.Add(-time.Hour)), "ends_at": rfc(now.Add(time.Hour))}).want(t, 201, "")

	// Inside the campaign: double points. Before it: base points.
	in := tx(e.transact(id, pos, "c1", map[string]any{"type": "earn", "amount": 1000}).want(t, 201, ""))
	if in["points"] != float64(200) || in["base_points"] != float64(100) || in["bonus_points"] != float64(100) || in["campaign_id"] != cid {
		t.Errorf("earn inside the campaign = %v, want 200 points (100 + 100 from %s)", in, cid)
	}
	out := tx(e.transact(id, pos, "c2", map[string]any{"type": "earn", "amount": 1000, "occurred_at": rfc(now.Add(-2 * time.Hour))}).want(t, 201, ""))
	if out["points"] != float64(100) || out["bonus_points"] != float64(0) || out["campaign_id"] != nil {
		t.Errorf("earn before the campaign = %v, want 100 base points", out)
	}
	// Points given are not multiplied.
	if p := tx(e.transact(id, pos, "c3", map[string]any{"type": "earn", "points": 10}).want(t, 201, ""))["points"]; p != float64(10) {
		t.Errorf("earn of 10 points inside the campaign = %v, want 10", p)
	}

	for name, tc := range map[string]struct {
		body   map[string]any
		fields []string
	}{
		"empty":           {map[string]any{}, []string{"name", "multiplier", "starts_at", "ends_at"}},
		"two decimals":    {map[string]any{"multiplier": 1.25}, []string{"multiplier"}},
		"x1":              {map[string]any{"multiplier": 1}, []string{"multiplier"}},
		"x11":             {map[string]any{"multiplier": 11}, []string{"multiplier"}},
		"ends before":     {map[string]any{"ends_at": rfc(now.Add(-2 * time.Hour))}, []string{"ends_at"}},
		"bad time":        {map[string]any{"starts_at": "tomorrow"}, []string{"starts_at"}},
		"hours backwards": {map[string]any{"local_hours": "19:00-17:00"}, []string{"local_hours"}},
		"hours nonsense":  {map[string]any{"local_hours": "25:00-26:00"}, []string{"local_hours"}},
		"day 8":           {map[string]any{"days_of_week": []int{1, 8}}, []string{"days_of_week"}},
		"unknown tier":    {map[string]any{"min_tier": "Platinum"}, []string{"min_tier"}},
		"tier and hours":  {map[string]any{"min_tier": "Platinum", "local_hours": "17-19"}, []string{"min_tier", "local_hours"}},
		"blank name":      {map[string]any{"name": "  "}, []string{"name"}},
	} {
		body := map[string]any{"name": "X", "multiplier": 1.5, "starts_at": rfc(now), "ends_at": rfc(now.Add(time.Hour))}
		if name == "empty" {
			body = map[string]any{}
		}
		for k, v := range tc.body {
			body[k] = v
		}
		e.do("POST", path, merchant, body).wantFields(t, name, tc.fields...)
	}
	valid := map[string]any{"name": "X", "multiplier": 1.5, "starts_at": rfc(now), "ends_at": rfc(now.Add(time.Hour))}
	e.do("POST", path, pos, valid).want(t, 403, "forbidden")
	e.do("POST", "/api/v1/programs/nope/campaigns", merchant, valid).want(t, 404, "not_found")
	e.do("POST", path, merchant, `{"name":"X","multiplier":2,"starts_at":"`+rfc(now)+`","ends_at":"`+rfc(now.Add(time.Hour))+`","colour":"red"}`).want(t, 400, "malformed_json")

	list := e.do("GET", path, pos, nil).want(t, 200, "").body["items"].([]any)
	if len(list) != 2 {
		t.Errorf("list = %v, want the 2 campaigns", list)
	}
	e.do("GET", "/api/v1/programs/nope/campaigns", pos, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/campaigns/"+cid, pos, nil).want(t, 200, "")
	e.do("GET", "/api/v1/campaigns/nope", pos, nil).want(t, 404, "not_found")

	// Happy hours, weekdays: a merge patch; the result is checked whole.
	patched := e.do("PATCH", "/api/v1/campaigns/"+cid, merchant, map[string]any{"multiplier": 3, "local_hours": "00:00-24:00", "days_of_week": []int{7, 1, 2, 3, 4, 5, 6}},
		"Content-Type", "application/merge-patch+json").want(t, 200, "")
	if patched.body["multiplier"] != float64(3) || patched.body["local_hours"] != "00:00-24:00" || patched.body["name"] != "Double days" ||
		len(patched.body["days_of_week"].([]any)) != 7 {
		t.Errorf("patch = %s, want x3 all day, every day, same name", patched.raw)
	}
	e.do("PATCH", "/api/v1/campaigns/"+cid, merchant, map[string]any{"multiplier": 10.5, "local_hours": nil}).wantFields(t, "patch x10.5", "multiplier")
	e.do("PATCH", "/api/v1/campaigns/"+cid, merchant, map[string]any{"ends_at": rfc(now.Add(-3 * time.Hour))}).wantFields(t, "patch ends before", "ends_at")
	e.do("PATCH", "/api/v1/campaigns/"+cid, merchant, map[string]any{"colour": "red"}).want(t, 400, "malformed_json")
	e.do("PATCH", "/api/v1/campaigns/"+cid, pos, map[string]any{"multiplier": 4}).want(t, 403, "forbidden")
	e.do("PATCH", "/api/v1/campaigns/nope", merchant, map[string]any{"multiplier": 4}).want(t, 404, "not_found")
	if got := e.do("GET", "/api/v1/campaigns/"+cid, pos, nil).want(t, 200, "").body; got["multiplier"] != float64(3) || got["local_hours"] != "00:00-24:00" {
		t.Errorf("after refused patches = %v, want x3 00:00-24:00 still", got)
	}
	cleared := e.do("PATCH", "/api/v1/campaigns/"+cid, merchant, map[string]any{"local_hours": nil, "days_of_week": nil}).want(t, 200, "")
	if cleared.body["local_hours"] != nil || len(cleared.body["days_of_week"].([]any)) != 0 {
		t.Errorf("patch with nulls = %s, want hours and days cleared", cleared.raw)
	}
	if p := tx(e.transact(id, pos, "c4", map[string]any{"type": "earn", "amount": 1000}).want(t, 201, ""))["points"]; p != float64(300) {
		t.Errorf("earn after the patch to x3 = %v, want 300", p)
	}

	// Ending keeps the campaign; earns after it get base points.
	e.do("DELETE", "/api/v1/campaigns/"+cid, pos, nil).want(t, 403, "forbidden")
	ended := e.do("DELETE", "/api/v1/campaigns/"+cid, merchant, nil).want(t, 200, "")
	if end, err := time.Parse(time.RFC3339Nano, ended.body["ends_at"].(string)); err != nil || end.After(time.Now()) || end.Before(now) {
		t.Errorf("ended ends_at = %v, want about now", ended.body["ends_at"])
	}
	e.do("DELETE", "/api/v1/campaigns/nope", merchant, nil).want(t, 404, "not_found")
	if p := tx(e.transact(id, pos, "c5", map[string]any{"type": "earn", "amount": 1000}).want(t, 201, ""))["points"]; p != float64(100) {
		t.Errorf("earn after the end = %v, want 100", p)
	}
	if n := len(e.do("GET", path, pos, nil).want(t, 200, "").body["items"].([]any)); n != 2 {
		t.Errorf("list after ending has %d campaigns, want 2 (kept)", n)
	}

	// The Gold campaign needs Gold (5,000 points) before the earn.
	e.transact(id, merchant, "c6", map[string]any{"type": "adjust", "points": 5000}).want(t, 201, "")
	g := tx(e.transact(id, pos, "c7", map[string]any{"type": "earn", "amount": 1000}).want(t, 201, ""))
	if g["points"] != float64(500) || g["campaign_id"] != gold.body["id"] {
		t.Errorf("gold member's earn = %v, want 500 points from %v", g, gold.body["id"])
	}

	// A key scoped to another programme sees none of it.
	e.do("POST", "/api/v1/programs", adminKey, newProgram("other")).want(t, 201, "")
	other := e.newKey("merchant", "other")
	e.do("GET", "/api/v1/campaigns/"+cid, other, nil).want(t, 403, "forbidden")
	e.do("GET", path, other, nil).want(t, 403, "forbidden")
	if strings.Contains(e.do("GET", path, other, nil).raw, cid) {
		t.Errorf("a key of another programme was shown the campaign")
	}
}
