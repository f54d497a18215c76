package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
)

// signedInAs answers a browser signed in as a new user of role and
// program.
func (p *passd) signedInAs(t *testing.T, email, role, program string) *browser {
	t.Helper()
	p.user(t, email, role, program, "correct horse battery")
	b := p.browser(t)
	if res := b.signIn(email, "correct horse battery"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of %s = %d", email, res.StatusCode)
	}
	return b
}

// page GETs path and wants status; it answers the page.
func (b *browser) page(path string, status int) string {
	b.t.Helper()
	res, body := b.do("GET", path, nil)
	if res.StatusCode != status {
		b.t.Fatalf("GET %s = %d, want %d; page:\n%s", path, res.StatusCode, status, body)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, " style=") {
		b.t.Errorf("GET %s has inline script or style attributes", path)
	}
	return body
}

// post sends a form with the CSRF token of the page at from; it answers
// the response and its page.
func (b *browser) post(from, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	form.Set("csrf", b.csrf(from))
	return b.do("POST", path, form)
}

// text answers the text of the element with id in page (tags dropped).
func text(page, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], ""))
}

func (p *passd) newProgram(t *testing.T, id string) {
	t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/programs", strings.NewReader(`{"id":"`+id+`","name":"Other","organization_name":"Other Ltd",`+
		`"colors":{"background":"#112233","foreground":"#ffffff","label":"#eeeeee"},"currency":"EUR","earn":{"points_per_unit":1},`+
		`"tiers":[{"name":"Member","threshold":0}],"default_locale":"en","locales":{"en":{"program_name":"Other programme"}}}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/programs %s = %d", id, res.StatusCode)
	}
}

func TestMerchantPages(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			testMerchantPages(t, pg)
		})
	}
}

func testMerchantPages(t *testing.T, pg bool) {
	p := start(t, pg, nil)
	ctx := context.Background()
	st := p.srv.Store
	ada := storetest.NewMember(t, st, "demo")
	grace := storetest.NewMember(t, st, "demo")
	rules := func() balances.Rules {
		prog, err := p.srv.Programs.Fresh(ctx, "demo", 0)
		if err != nil {
			t.Fatal(err)
		}
		return prog.Rules()
	}()
	for _, e := range []balances.Request{{Type: balances.Earn, Points: 100}, {Type: balances.Redeem, Points: 40}} {
		if _, err := st.Post(ctx, ada.ID, string(e.Type), "h-"+string(e.Type), e, rules); err != nil {
			t.Fatal(err)
		}
	}
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")

	// The dashboard of a one-programme merchant has its figures, the
	// chart, and the sync health.
	dash := b.page("/console", http.StatusOK)
	for id, want := range map[string]string{"fig-members": "2", "fig-issued": "100", "fig-redeemed": "40", "fig-outstanding": "60", "fig-rate": "40.0 %", "members-demo": "2"} {
		if got := text(dash, id); got != want {
			t.Errorf("dashboard #%s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(dash, `<svg class="chart" id="chart"`) || strings.Count(dash, "<rect ") != 30 {
		t.Errorf("dashboard chart: %d bars, want an SVG of 30 days", strings.Count(dash, "<rect "))
	}
	figs := b.page("/console/programs/demo?from=2020-01-01&to=2020-01-07", http.StatusOK)
	if text(figs, "fig-issued") != "0" || text(figs, "fig-members") != "2" || strings.Count(figs, "<rect ") != 7 {
		t.Errorf("figures of a week in 2020: issued %q, members %q", text(figs, "fig-issued"), text(figs, "fig-members"))
	}
	if bad := b.page("/console/programs/demo?from=2020-01-07&to=2020-01-01", http.StatusOK); !strings.Contains(bad, "must not be after to") {
		t.Error("a window ending before it starts shows no problem")
	}

	// Search by name prefix, tier, inactivity; a bad filter says why.
	list := b.page("/console/programs/demo/members", http.StatusOK)
	if !strings.Contains(list, ada.Number) || !strings.Contains(list, grace.Number) {
		t.Error("the member list lacks a member")
	}
	if got := b.page("/console/programs/demo/members?q="+ada.Number[:6], http.StatusOK); !strings.Contains(got, ada.Number) || strings.Contains(got, grace.Number) && ada.Number[:6] != grace.Number[:6] {
		t.Error("search by number prefix did not find only ada")
	}
	if got := b.page("/console/programs/demo/members?inactive_days=0", http.StatusUnprocessableEntity); !strings.Contains(got, "inactive_days") {
		t.Error("a bad inactive_days shows no problem")
	}

	// The member page: the card as the customer sees it, the balance.
	path := "/console/programs/demo/members/" + ada.ID
	mp := b.page(path, http.StatusOK)
	if text(mp, "balance") != "60" || text(mp, "face-points") != "60" || !strings.Contains(mp, `id="card-front"`) {
		t.Errorf("member page: balance %q, card points %q", text(mp, "balance"), text(mp, "face-points"))
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(mp)[1]

	// Adjust +25 with a reason; the same form sent twice adjusts once.
	form := url.Values{"points": {"25"}, "reason": {"goodwill"}, "key": {key}}
	for range 2 {
		res, _ := b.post(path, path+"/adjust", form)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"?done=adjusted" {
			t.Fatalf("adjust = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
	}
	if m, _ := st.Member(ctx, ada.ID); m.Account.Points != 85 {
		t.Errorf("balance after adjusting +25 twice with one form = %d, want 85", m.Account.Points)
	}
	mp = b.page(path+"?done=adjusted&type=adjust", http.StatusOK)
	if ledger := mp[strings.Index(mp, `id="entries"`):]; !strings.Contains(ledger, "goodwill") || strings.Contains(ledger, "<td>Earn</td>") || text(mp, "done") == "" {
		t.Errorf("the ledger filtered on adjustments lacks the adjustment, shows an earn, or the page has no notice:\n%s", mp)
	}
	for _, tc := range []struct {
		form   url.Values
		status int
		words  string
	}{
		{url.Values{"points": {"ten"}, "reason": {"x"}, "key": {"k1"}}, 422, "whole number"},
		{url.Values{"points": {"5"}, "reason": {" "}, "key": {"k2"}}, 422, "reason"},
		{url.Values{"points": {"-1000"}, "reason": {"oops"}, "key": {"k3"}}, 409, "insufficient"},
	} {
		res, page := b.post(path, path+"/adjust", tc.form)
		if res.StatusCode != tc.status || !strings.Contains(strings.ToLower(text(page, "notice")), tc.words) {
			t.Errorf("adjust %v = %d, notice %q; want %d and %q", tc.form, res.StatusCode, text(page, "notice"), tc.status, tc.words)
		}
	}

	// Message this member, resend the card.
	if res, _ := b.post(path, path+"/message", url.Values{"text": {"Happy birthday"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("message member = %d", res.StatusCode)
	}
	if m, _ := st.Member(ctx, ada.ID); m.MemberMessage != "Happy birthday" {
		t.Errorf("member message = %q", m.MemberMessage)
	}
	before, _ := st.Member(ctx, ada.ID)
	if res, _ := b.post(path, path+"/resend", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("resend = %d", res.StatusCode)
	}
	if after, _ := st.Member(ctx, ada.ID); after.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("resend: pass version %d -> %d, want +1", before.Account.PassVersion, after.Account.PassVersion)
	}

	// Messages: the count before sending, per audience.
	msgs := "/console/programs/demo/messages"
	for _, tc := range []struct {
		form  url.Values
		cards string
	}{
		{url.Values{"text": {"Double points today"}, "audience": {"all"}}, "2"},
		{url.Values{"text": {"Hello Bronze"}, "audience": {"tier"}, "tier": {"Bronze"}}, "2"},
		{url.Values{"text": {"Just you"}, "audience": {"member"}, "number": {grace.Number}}, "1"},
	} {
		res, page := b.post(msgs, msgs+"/preview", tc.form)
		if res.StatusCode != 200 || !strings.Contains(text(page, "audience-count"), tc.cards+" cards") {
			t.Errorf("preview %v = %d, count %q, want %s cards", tc.form, res.StatusCode, text(page, "audience-count"), tc.cards)
		}
	}
	res, page := b.post(msgs, msgs+"/preview", url.Values{"text": {"x"}, "audience": {"member"}, "number": {"000000000"}})
	if res.StatusCode != 422 || !strings.Contains(text(page, "notice"), "no member of this programme") {
		t.Errorf("preview to an unknown number = %d, notice %q", res.StatusCode, text(page, "notice"))
	}
	res, _ = b.post(msgs, msgs, url.Values{"text": {"Double points today"}, "audience": {"all"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != msgs+"?sent=2" {
		t.Errorf("send = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if text, _, err := st.ProgramMessage(ctx, "demo"); err != nil || text != "Double points today" {
		t.Errorf("program message = %q, %v", text, err)
	}

	// Export and erase are for admins, as in the API; a merchant is
	// refused, and an admin must type the number.
	b.page(path+"/erase", http.StatusForbidden)
	b.page(path+"/export", http.StatusForbidden)
	admin := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	ex, body := admin.do("GET", path+"/export", nil)
	var export struct {
		Member struct {
			ID string `json:"id"`
		} `json:"member"`
	}
	if ex.StatusCode != 200 || json.Unmarshal([]byte(body), &export) != nil || export.Member.ID != ada.ID {
		t.Errorf("export = %d, %.200s", ex.StatusCode, body)
	}
	confirm := admin.page(path+"/erase", http.StatusOK)
	if !strings.Contains(confirm, `id="typed"`) {
		t.Error("the erase step has no typed confirmation")
	}
	if res, _ := admin.post(path+"/erase", path+"/erase", url.Values{"typed": {grace.Number}}); res.StatusCode != 422 {
		t.Errorf("erase with another number = %d, want 422", res.StatusCode)
	}
	if m, _ := st.Member(ctx, ada.ID); m.Erased() {
		t.Fatal("a wrong typed number erased the member")
	}
	if res, _ := admin.post(path+"/erase", path+"/erase", url.Values{"typed": {ada.Number}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("erase = %d", res.StatusCode)
	}
	if m, _ := st.Member(ctx, ada.ID); !m.Erased() {
		t.Error("the member is not erased")
	}
	admin.page(path, http.StatusNotFound)
}

// TestProgrammeIsolation: a merchant of programme A sees none of
// programme B's pages, members or actions; a pos user none at all;
// signed out, every page leads to sign-in.
func TestProgrammeIsolation(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.newProgram(t, "other")
	m := storetest.NewMember(t, p.srv.Store, "demo")
	mine := storetest.NewMember(t, p.srv.Store, "other")
	demoPaths := []string{"/console/programs/demo", "/console/programs/demo/members", "/console/programs/demo/members/" + m.ID,
		"/console/programs/demo/messages", "/console/programs/demo/members/" + m.ID + "/erase", "/console/programs/demo/members/" + m.ID + "/export",
		"/console/programs/demo/webhooks"}

	b := p.signedInAs(t, "bob@example.com", loyalty.RoleMerchant, "other")
	for _, path := range demoPaths {
		b.page(path, http.StatusNotFound)
	}
	// A demo member under the merchant's own programme is not found either.
	b.page("/console/programs/other/members/"+m.ID, http.StatusNotFound)
	b.page("/console/programs/other/members/"+mine.ID, http.StatusOK)
	if list := b.page("/console/programs/other/members", http.StatusOK); strings.Contains(list, m.Number) {
		t.Error("the other programme's list shows a demo member")
	}
	if dash := b.page("/console", http.StatusOK); strings.Contains(dash, "Demo Coffee") || text(dash, "fig-members") != "1" {
		t.Error("the dashboard of programme other shows demo")
	}
	for _, action := range []string{"/adjust", "/message", "/resend", "/erase"} {
		res, _ := b.post("/console/programs/other/members/"+mine.ID, "/console/programs/demo/members/"+m.ID+action,
			url.Values{"points": {"5"}, "reason": {"x"}, "key": {"k"}, "text": {"hi"}, "typed": {m.Number}})
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s on a demo member = %d, want 404", action, res.StatusCode)
		}
	}
	res, _ := b.post("/console/programs/other/messages", "/console/programs/demo/messages", url.Values{"text": {"hi"}, "audience": {"all"}})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("a message to demo = %d, want 404", res.StatusCode)
	}
	if got, _ := p.srv.Store.Member(context.Background(), m.ID); got.Account.Points != 0 || got.MemberMessage != "" || got.Account.PassVersion != 1 {
		t.Errorf("the demo member changed: %+v", got.Account)
	}

	pos := p.signedInAs(t, "till@example.com", loyalty.RolePOS, "demo")
	for _, path := range demoPaths {
		pos.page(path, http.StatusForbidden)
	}
	out := p.browser(t)
	for _, path := range demoPaths {
		if res, _ := out.do("GET", path, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
			t.Errorf("signed out GET %s = %d to %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// A merchant's form without its CSRF token does nothing.
	mb := p.signedInAs(t, "carol@example.com", loyalty.RoleMerchant, "demo")
	if res, _ := mb.do("POST", "/console/programs/demo/members/"+m.ID+"/adjust", url.Values{"points": {"5"}, "reason": {"x"}, "key": {"k"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("adjust without CSRF = %d, want 403", res.StatusCode)
	}
}

// regexpAll answers every match of expr in s with its groups.
func regexpAll(expr, s string) [][]string {
	return regexp.MustCompile(expr).FindAllStringSubmatch(s, -1)
}

// unescape undoes html/template's escaping of an attribute or text.
func unescape(s string) string { return html.UnescapeString(s) }

// hidden answers the value of the hidden field name in page.
func hidden(page, name string) string {
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return unescape(m[1])
}

// TestPaging: the member list and a member's ledger page with a cursor,
// keeping the filters; every item shows once.
func TestPaging(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	ctx := context.Background()
	st := p.srv.Store
	prog, err := p.srv.Programs.Fresh(ctx, "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for range loyalty.DefaultSearchLimit + 3 {
		numbers = append(numbers, storetest.NewMember(t, st, "demo").Number)
	}
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	seen := map[string]int{}
	path, pages := "/console/programs/demo/members?tier=Bronze", 0
	for path != "" && pages < 5 {
		page := b.page(path, http.StatusOK)
		pages++
		for _, n := range numbers {
			if strings.Contains(page, "<td>"+n+"</td>") {
				seen[n]++
			}
		}
		path = unescape(regexpFirst(`href="([^"]+)" id="next-page"`, page))
		if path != "" && !strings.Contains(path, "tier=Bronze") {
			t.Errorf("the next page %q lost the tier filter", path)
		}
	}
	if pages != 2 || len(seen) != len(numbers) {
		t.Errorf("member list: %d pages, %d of %d members seen", pages, len(seen), len(numbers))
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("member %s shown %d times", n, c)
		}
	}

	m := storetest.NewMember(t, st, "demo")
	for i := range console.LedgerPage + 5 {
		key := "k" + strconv.Itoa(i)
		if _, err := st.Post(ctx, m.ID, key, "h"+key, balances.Request{Type: balances.Earn, Points: int64(i + 1)}, prog.Rules()); err != nil {
			t.Fatal(err)
		}
	}
	first := b.page("/console/programs/demo/members/"+m.ID+"?type=earn", http.StatusOK)
	next := unescape(regexpFirst(`href="([^"]+)" id="ledger-next"`, first))
	if strings.Count(first, "<td>Earn</td>") != console.LedgerPage || !strings.Contains(next, "type=earn") {
		t.Fatalf("ledger page 1: %d earns, next %q", strings.Count(first, "<td>Earn</td>"), next)
	}
	if second := b.page(next, http.StatusOK); strings.Count(second, "<td>Earn</td>") != 5 || strings.Contains(second, `id="ledger-next"`) {
		t.Errorf("ledger page 2: %d earns, want the last 5 and no next page", strings.Count(second, "<td>Earn</td>"))
	}
	// A cursor passd did not hand out: the problem's words, no rows and
	// the first page, as every list.
	bad := b.page("/console/programs/demo/members/"+m.ID+"?type=earn&cursor=bm90LWEtY3Vyc29y", http.StatusUnprocessableEntity)
	if !strings.Contains(bad, `id="ledger-failure"`) || !strings.Contains(bad, "cursor") || strings.Contains(bad, "<td>Earn</td>") {
		t.Errorf("ledger with a bad cursor: want its message and no rows, got\n%s", bad)
	}
	firstLink := unescape(regexpFirst(`href="([^"]+)" id="ledger-first"`, bad))
	again := b.page(firstLink, http.StatusOK)
	if strings.Count(again, "<td>Earn</td>") != console.LedgerPage || unescape(regexpFirst(`href="([^"]+)" id="ledger-next"`, again)) != next {
		t.Errorf("the ledger's first-page link %q does not lead to page 1", firstLink)
	}
}

// regexpFirst answers the first group of expr's first match in s.
func regexpFirst(expr, s string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if len(m) < 2 {
		return ""
	}
	return m[1]
}

// TestSyncWarnings: cards that wait too long, and cards given up, show a
// warning with what to do on the programme's page.
func TestSyncWarnings(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	ctx := context.Background()
	a := storetest.NewMember(t, p.srv.Store, "demo")
	storetest.NewMember(t, p.srv.Store, "demo")
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	if page := b.page("/console/programs/demo", http.StatusOK); strings.Contains(page, "longer than they should") {
		t.Fatal("fresh cards show a warning")
	}
	// Google Wallet is off here, so nothing delivers to it: queue every
	// card for it (as turning it on does) and its cards wait. Eleven
	// minutes on, they are stuck; one given up is in error.
	if _, err := p.srv.Store.EnableChannel(ctx, loyalty.ChannelGoogle); err != nil {
		t.Fatal(err)
	}
	p.clock.Add(11 * time.Minute)
	jobs, err := p.srv.Store.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.MemberID == a.ID {
			if err := p.srv.Store.Fail(ctx, j, "google: 400", p.clock.Now(), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := b.page("/console/programs/demo", http.StatusOK)
	for _, want := range []string{"1 cards have waited for Google Wallet longer than they should", "1 Google Wallet cards could not be updated"} {
		if !strings.Contains(page, want) {
			t.Errorf("the programme's page lacks the warning %q", want)
		}
	}
}
