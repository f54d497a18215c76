package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passd/passd/internal/loyalty"
)

// apiStatus answers the status of GET path on the API with key.
func (p *passd) apiStatus(t *testing.T, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestAdminKeys: an admin creates an API key, sees it once, and revokes
// it after a confirmation step; the key works, then is refused.
func TestAdminKeys(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	b := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	keys := "/console/admin/keys"
	res, page := b.post(keys, keys, url.Values{"role": {"pos"}, "program": {"demo"}})
	key := text(page, "secret")
	if res.StatusCode != http.StatusCreated || len(key) < 20 {
		t.Fatalf("create key = %d, secret %q", res.StatusCode, key)
	}
	if got := p.apiStatus(t, "/api/v1/programs/demo", key); got != 200 {
		t.Errorf("the new key on the API = %d, want 200", got)
	}
	list := b.page(keys, http.StatusOK)
	if strings.Contains(list, key) || strings.Contains(b.page("/console/admin/keys", http.StatusOK), key[:12]) {
		t.Error("the key is shown a second time")
	}
	stored, err := p.srv.Store.APIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, k := range stored {
		if k.Role == loyalty.RolePOS && k.Program == "demo" {
			id = k.ID
		}
	}
	if !strings.Contains(list, `id="revoke-`+id+`"`) {
		t.Fatalf("the list lacks key %s's revoke link", id)
	}
	if confirm := b.page(keys+"/"+id+"/revoke", http.StatusOK); !strings.Contains(confirm, `id="confirm-form"`) {
		t.Error("revoking does not ask first")
	}
	if res, _ := b.post(keys, keys+"/"+id+"/revoke", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("revoke = %d", res.StatusCode)
	}
	if got := p.apiStatus(t, "/api/v1/programs/demo", key); got != 401 {
		t.Errorf("the revoked key on the API = %d, want 401", got)
	}
	if res, page := b.post(keys, keys, url.Values{"role": {"owner"}, "program": {"nope"}}); res.StatusCode != 422 || !strings.Contains(text(page, "notice"), "role") || !strings.Contains(text(page, "notice"), "program") {
		t.Errorf("a bad key form = %d, notice %q", res.StatusCode, text(page, "notice"))
	}
	if res, _ := b.post(keys, keys+"/key_nothing/revoke", url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Errorf("revoking an unknown key = %d, want 404", res.StatusCode)
	}
}

// TestAdminUsers: an admin adds a user (the set-password link shown
// once), makes a new link, and disables the user after a confirmation
// step; merchants and cashiers cannot open these pages.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	ctx := context.Background()
	b := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	users := "/console/admin/users"
	res, page := b.post(users, users, url.Values{"email": {"Barista@Example.com"}, "role": {"merchant"}, "program": {"demo"}})
	link := text(page, "secret")
	if res.StatusCode != http.StatusCreated || !strings.Contains(link, "/console/set-password?token=") {
		t.Fatalf("create user = %d, link %q", res.StatusCode, link)
	}
	u, err := p.srv.Store.StaffUserByEmail(ctx, "barista@example.com")
	if err != nil || u.Role != loyalty.RoleMerchant || u.Program != "demo" {
		t.Fatalf("stored user = %+v, %v", u, err)
	}
	token := link[strings.Index(link, "token=")+len("token="):]
	if ok, err := p.srv.Store.StaffPasswordTokenValid(ctx, loyalty.HashKey(token)); err != nil || !ok {
		t.Errorf("the link's token is not valid: %v", err)
	}
	if strings.Contains(b.page(users, http.StatusOK), token) {
		t.Error("the set-password link is shown a second time")
	}
	for _, tc := range []struct {
		form   url.Values
		status int
	}{
		{url.Values{"email": {"barista@example.com"}, "role": {"pos"}, "program": {"demo"}}, http.StatusConflict},
		{url.Values{"email": {"x@example.com"}, "role": {"merchant"}}, http.StatusUnprocessableEntity},
		{url.Values{"email": {"not an email"}, "role": {"admin"}}, http.StatusUnprocessableEntity},
		{url.Values{"email": {"y@example.com"}, "role": {"pos"}, "program": {"nope"}}, http.StatusUnprocessableEntity},
	} {
		if res, page := b.post(users, users, tc.form); res.StatusCode != tc.status || text(page, "notice") == "" {
			t.Errorf("create user %v = %d, notice %q; want %d and a notice", tc.form, res.StatusCode, text(page, "notice"), tc.status)
		}
	}
	if res, page := b.post(users, users+"/"+u.ID+"/reset", url.Values{}); res.StatusCode != 200 || !strings.Contains(text(page, "secret"), "token=") || strings.Contains(page, token) {
		t.Errorf("reset = %d, secret %q", res.StatusCode, text(page, "secret"))
	}
	if confirm := b.page(users+"/"+u.ID+"/disable", http.StatusOK); !strings.Contains(confirm, `id="confirm-form"`) {
		t.Error("disabling does not ask first")
	}
	if res, _ := b.post(users, users+"/"+u.ID+"/disable", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("disable = %d", res.StatusCode)
	}
	if u, _ := p.srv.Store.StaffUser(ctx, u.ID); u.DisabledAt == nil {
		t.Error("the user is not disabled")
	}

	merchant := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	pos := p.signedInAs(t, "till@example.com", loyalty.RolePOS, "demo")
	// Each takes its CSRF token from its own home page (a pos user's is
	// the scanner).
	for other, home := range map[*browser]string{merchant: "/console", pos: "/console/scan"} {
		for _, path := range []string{users, "/console/admin/keys", users + "/" + u.ID + "/disable"} {
			other.page(path, http.StatusForbidden)
		}
		if res, _ := other.post(home, "/console/admin/keys", url.Values{"role": {"admin"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a non-admin creating a key = %d, want 403", res.StatusCode)
		}
	}
}
