package api_test

import (
	"strings"
	"testing"
)

// bonuses answers a member's bonus transactions by reason.
func (e *env) bonuses(id string) map[string][]float64 {
	e.t.Helper()
	a := e.do("GET", "/api/v1/members/"+id+"/transactions", adminKey, nil).want(e.t, 200, "")
	out := map[string][]float64{}
	items, _ := a.body["items"].([]any)
	for _, it := range items {
		tr := it.(map[string]any)
		if tr["type"] == "bonus" {
			r, _ := tr["reason"].(string)
			out[r] = append(out[r], tr["points"].(float64))
		} else if _, ok := tr["reason"]; ok {
			e.t.Errorf("%s transaction has a reason: %v", tr["type"], tr)
		}
	}
	return out
}

func TestWelcomeAndReferralBonus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.patch("demo", adminKey, `{"welcome_bonus":25,"referral":{"referrer_points":100,"referee_points":40}}`).want(t, 200, "")
	enroll := func(body map[string]any) answer {
		return e.do("POST", "/api/v1/programs/demo/members", adminKey, body)
	}
	a := enroll(map[string]any{"name": "Ada", "email": "ada@example.com"}).want(t, 201, "").body
	code, _ := a["referral_code"].(string)
	if a["points"] != float64(25) || a["lifetime_points"] != float64(25) || len(code) != 8 {
		t.Fatalf("enrolment with welcome_bonus 25 = %v, want 25 points and an 8-character referral_code", a)
	}
	if u := a["referral_url"]; u != "https://passd.example/join/demo?ref="+code {
		t.Errorf("referral_url = %v, want the join page with ?ref=%s", u, code)
	}
	aID := a["id"].(string)
	if got := e.bonuses(aID); len(got["welcome"]) != 1 || got["welcome"][0] != 25 {
		t.Errorf("transactions after enrolment = %v, want one welcome bonus of 25", got)
	}

	p := enroll(map[string]any{"name": "Bea", "referral_code": "ZZZZ2222"}).want(t, 422, "unknown_referral_code")
	if errs, _ := p.body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "referral_code" {
		t.Errorf("unknown referral code: %s, want errors naming referral_code", p.raw)
	}

	b := enroll(map[string]any{"name": "Bea", "email": "bea@example.com", "referral_code": strings.ToLower(code)}).want(t, 201, "").body
	bID := b["id"].(string)
	e.earn(bID, "k1", 10).want(t, 201, "")
	e.earn(bID, "k2", 10).want(t, 201, "")
	if got := e.do("GET", "/api/v1/members/"+bID, adminKey, nil).want(t, 200, "").body["points"]; got != float64(25+10+40+10) {
		t.Errorf("referee's points = %v, want %d", got, 25+10+40+10)
	}
	if got := e.do("GET", "/api/v1/members/"+aID, adminKey, nil).want(t, 200, "").body["points"]; got != float64(25+100) {
		t.Errorf("referrer's points = %v, want %d", got, 25+100)
	}
	if got := e.bonuses(bID); len(got["referral"]) != 1 || got["referral"][0] != 40 {
		t.Errorf("referee's bonuses = %v, want one referral bonus of 40", got)
	}
	if got := e.bonuses(aID); len(got["referral"]) != 1 || got["referral"][0] != 100 {
		t.Errorf("referrer's bonuses = %v, want one referral bonus of 100", got)
	}
}
