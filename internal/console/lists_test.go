package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/webhooks/webhookstest"
)

// walkList follows a console list's Next links from path and answers how
// many times each mark showed over all pages and the pages read. The first
// page has no "First page" link; each later one does.
func walkList(t *testing.T, b *browser, path string, marks []string) (map[string]int, int) {
	t.Helper()
	seen := map[string]int{}
	pages := 0
	for next := path; next != ""; pages++ {
		if pages == 5 {
			t.Fatalf("%s: more than 5 pages", path)
		}
		page := b.page(next, http.StatusOK)
		for _, m := range marks {
			seen[m] += strings.Count(page, m)
		}
		if first := strings.Contains(page, `href="`+path+`" id="first-page"`); first != (pages > 0) {
			t.Errorf("%s page %d: a first-page link %v", path, pages+1, first)
		}
		next = unescape(regexpFirst(`href="([^"]+)" id="next-page"`, page))
		if next != "" && !strings.HasPrefix(next, path+"?cursor=") {
			t.Errorf("%s: next page %q", path, next)
		}
	}
	return seen, pages
}

// badCursor wants the list at path to refuse a cursor it did not hand out
// with the problem's words, answered 422, and a link back to its first
// page.
func badCursor(t *testing.T, b *browser, path string) {
	t.Helper()
	page := b.page(path+"?cursor=bm90LWEtY3Vyc29y", http.StatusUnprocessableEntity)
	if got := text(page, "page-failure"); got != "cursor: is not a cursor this API returned" {
		t.Errorf("%s with a bad cursor says %q, want the problem's detail", path, got)
	}
	if !strings.Contains(page, `href="`+path+`" id="first-page"`) {
		t.Errorf("%s with a bad cursor has no link to the first page", path)
	}
}

// TestListPaging: the lists of rewards, campaigns, webhook endpoints, an
// endpoint's deliveries, API keys and staff users each show ListPage rows
// and a Next link to the rest; every row shows once over the pages; a
// cursor the console did not hand out is refused in words.
func TestListPaging(t *testing.T) {
	t.Parallel()
	rc := webhookstest.New(t, false, nil)
	p := start(t, false, map[string]string{"PASSD_WEBHOOK_ALLOW_HTTP": "1"})
	ctx := context.Background()
	st := p.srv.Store
	const n = console.ListPage + 2
	now := p.clock.Now()
	marks := map[string][]string{}
	add := func(path, mark string) { marks[path] = append(marks[path], mark) }
	var hooks []string
	for i := range n {
		rw, err := st.CreateReward(ctx, loyalty.Reward{ID: uuid.NewString(), Program: "demo", Name: fmt.Sprintf("Reward %d", i), CostPoints: 10, ValidDays: 30, Active: i%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		add("/console/programs/demo/rewards", `href="/console/programs/demo/rewards/`+rw.ID+`"`)
		c, err := st.CreateCampaign(ctx, loyalty.Campaign{ID: uuid.NewString(), Program: "demo", Name: "Double", MultiplierTenths: 20,
			StartsAt: now.Add(time.Duration(i%7) * time.Hour), EndsAt: now.AddDate(0, 1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		add("/console/programs/demo/campaigns", `href="/console/programs/demo/campaigns/`+c.ID+`"`)
		secret, err := loyalty.NewWebhookSecret()
		if err != nil {
			t.Fatal(err)
		}
		e, err := st.CreateWebhook(ctx, loyalty.WebhookEndpoint{ID: uuid.NewString(), Program: "demo", URL: rc.URL("/hook"),
			Events: []loyalty.EventType{loyalty.EventMemberEnrolled}, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, e.ID)
		add("/console/programs/demo/webhooks", `id="webhook-`+e.ID+`"`)
		k := store.APIKey{ID: uuid.NewString(), Hash: loyalty.HashKey(uuid.NewString()), Role: loyalty.RolePOS, Program: "demo"}
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		add("/console/admin/keys", "<td>"+k.ID+"</td>")
		u := p.user(t, fmt.Sprintf("cashier%02d@example.com", i), loyalty.RolePOS, "demo", "")
		add("/console/admin/users", "<td>"+u.Email+"</td>")
	}
	root := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	for path, ms := range marks {
		seen, pages := walkList(t, root, path, ms)
		if pages != 2 {
			t.Errorf("%s: %d pages of %d rows, want 2", path, pages, console.ListPage)
		}
		for _, m := range ms {
			if seen[m] != 1 {
				t.Errorf("%s: %s shown %d times over the pages, want once", path, m, seen[m])
			}
		}
		badCursor(t, root, path)
	}

	// An endpoint's deliveries log: n test events delivered to the
	// receiver, newest first, ListPage a page.
	hook := "/console/programs/demo/webhooks/" + hooks[0]
	for range n {
		if _, err := st.SendTestWebhook(ctx, hooks[0]); err != nil {
			t.Fatal(err)
		}
	}
	p.srv.Webhooks.Wake()
	testkit.WaitFor(t, func() bool {
		as, _, err := st.WebhookAttemptsPage(ctx, hooks[0], "", store.MaxPageSize)
		return err == nil && len(as) == n
	})
	row := `<tr><td>[^<]+</td><td>webhook\.test</td><td class="num">204</td>`
	first := root.page(hook, http.StatusOK)
	next := unescape(regexpFirst(`href="([^"]+)" id="next-page"`, first))
	if got := len(regexpAll(row, first)); got != console.ListPage || !strings.HasPrefix(next, hook+"?cursor=") {
		t.Fatalf("deliveries page 1: %d rows, next %q; want %d and a next page", got, next, console.ListPage)
	}
	second := root.page(next, http.StatusOK)
	if got := len(regexpAll(row, second)); got != n-console.ListPage || strings.Contains(second, `id="next-page"`) {
		t.Errorf("deliveries page 2: %d rows, want the last %d and no next page", got, n-console.ListPage)
	}
	badCursor(t, root, hook)
}
