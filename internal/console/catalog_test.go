package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// TestCatalogPages: rewards and campaigns are made, changed and ended
// through the domain's checks; a merchant of another programme sees none.
func TestCatalogPages(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.newProgram(t, "other")
	ctx := context.Background()
	st := p.srv.Store
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")

	rewards := "/console/programs/demo/rewards"
	res, _ := b.post(rewards, rewards, url.Values{"name": {"Free coffee"}, "cost_points": {"150"}, "valid_days": {"14"}, "min_tier": {"Silver"}, "active": {"on"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create reward = %d", res.StatusCode)
	}
	rs, err := st.Rewards(ctx, "demo", false)
	if err != nil || len(rs) != 1 || rs[0].CostPoints != 150 || rs[0].ValidDays != 14 || rs[0].MinTier != "Silver" || !rs[0].Active {
		t.Fatalf("stored rewards = %+v, %v", rs, err)
	}
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {"Cake"}, "cost_points": {"lots"}}, "cost_points"},
		{url.Values{"name": {"Cake"}, "cost_points": {"0"}}, "cost_points"},
		{url.Values{"name": {""}, "cost_points": {"10"}}, "name"},
	} {
		if res, page := b.post(rewards, rewards, tc.form); res.StatusCode != 422 || !strings.Contains(text(page, "notice"), tc.field) {
			t.Errorf("create reward %v = %d, notice %q; want 422 naming %s", tc.form, res.StatusCode, text(page, "notice"), tc.field)
		}
	}
	edit := rewards + "/" + rs[0].ID
	if page := b.page(edit, http.StatusOK); !strings.Contains(page, `value="Free coffee"`) {
		t.Error("the reward's page lacks its name")
	}
	if res, _ := b.post(edit, edit, url.Values{"name": {"Free coffee"}, "cost_points": {"120"}, "valid_days": {"14"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("update reward = %d", res.StatusCode)
	}
	if rw, _ := st.Reward(ctx, rs[0].ID); rw.CostPoints != 120 || rw.Active || rw.MinTier != "" {
		t.Errorf("reward after the edit = %+v, want 120 points, inactive, every tier", rw)
	}

	campaigns := "/console/programs/demo/campaigns"
	start := p.clock.Now().Add(24 * time.Hour).UTC()
	form := url.Values{"name": {"Happy hour"}, "multiplier": {"2.5"}, "starts_at": {start.Format("2006-01-02T15:04")},
		"ends_at": {start.Add(48 * time.Hour).Format("2006-01-02T15:04")}, "days_of_week": {"5", "6"}, "local_hours": {"17:00-19:00"}}
	if res, page := b.post(campaigns, campaigns, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create campaign = %d, notice %q", res.StatusCode, text(page, "notice"))
	}
	cs, err := st.Campaigns(ctx, "demo")
	if err != nil || len(cs) != 1 || cs[0].MultiplierTenths != 25 || len(cs[0].DaysOfWeek) != 2 || cs[0].LocalHours() != "17:00-19:00" ||
		!cs[0].StartsAt.Equal(start.Truncate(time.Minute)) {
		t.Fatalf("stored campaigns = %+v, %v", cs, err)
	}
	bad := url.Values{"name": {"Too much"}, "multiplier": {"11"}, "starts_at": {"soon"}, "ends_at": {form.Get("ends_at")}}
	if res, page := b.post(campaigns, campaigns, bad); res.StatusCode != 422 || !strings.Contains(text(page, "notice"), "multiplier") || !strings.Contains(text(page, "notice"), "starts_at") {
		t.Errorf("a bad campaign = %d, notice %q", res.StatusCode, text(page, "notice"))
	}
	one := campaigns + "/" + cs[0].ID
	form.Set("multiplier", "3")
	if res, _ := b.post(one, one, form); res.StatusCode != http.StatusSeeOther {
		t.Errorf("update campaign = %d", res.StatusCode)
	}
	if c, _ := st.Campaign(ctx, cs[0].ID); c.MultiplierTenths != 30 {
		t.Errorf("multiplier after the edit = %d tenths, want 30", c.MultiplierTenths)
	}
	if confirm := b.page(one+"/end", http.StatusOK); !strings.Contains(confirm, `id="confirm-form"`) {
		t.Error("ending a campaign does not ask first")
	}
	if res, _ := b.post(one+"/end", one+"/end", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("end campaign = %d", res.StatusCode)
	}
	if c, _ := st.Campaign(ctx, cs[0].ID); c.EndsAt.After(p.clock.Now().Add(24*time.Hour + time.Minute)) {
		t.Errorf("the ended campaign ends at %v", c.EndsAt)
	}

	other := p.signedInAs(t, "bob@example.com", loyalty.RoleMerchant, "other")
	for _, path := range []string{rewards, edit, campaigns, one, one + "/end", "/console/programs/other/rewards/" + rs[0].ID, "/console/programs/other/campaigns/" + cs[0].ID} {
		other.page(path, http.StatusNotFound)
	}
	if res, _ := other.post("/console/programs/other/rewards", "/console/programs/other/rewards/"+rs[0].ID, url.Values{"name": {"Mine"}, "cost_points": {"1"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("editing demo's reward under other = %d, want 404", res.StatusCode)
	}
}
