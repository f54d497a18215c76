package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

func runUser(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	var in io.Reader // nil: no stdin
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	code, err := runIn(context.Background(), args, func(k string) string { return env[k] }, in, &out, &errOut)
	return code, out.String(), err
}

func openCtlStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// linkToken answers the token of a printed set-password link.
func linkToken(t *testing.T, out string) string {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(out))
	if err != nil || u.Scheme+"://"+u.Host+u.Path != "https://passd.example/console/set-password" || u.Query().Get("token") == "" {
		t.Fatalf("printed %q, want a set-password link under the public URL", out)
	}
	return u.Query().Get("token")
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir, "PASSD_PUBLIC_URL": "https://passd.example"}
	code, out, err := runUser(t, env, "a long enough password\n", "user", "create", "--email", " Ada@Example.com", "--role", "merchant", "--program", "demo")
	if err != nil || code != 0 {
		t.Fatalf("user create = %d, %v", code, err)
	}
	st := openCtlStore(t, dir)
	ctx := context.Background()
	u, err := st.StaffUserByEmail(ctx, "ada@example.com")
	if err != nil || u.ID != strings.TrimSpace(out) || u.Role != loyalty.RoleMerchant || u.Program != "demo" {
		t.Fatalf("stored user = %+v, %v (printed %q)", u, err, out)
	}
	if ok, err := loyalty.CheckPassword(u.PasswordHash, "a long enough password"); !ok || err != nil {
		t.Errorf("CheckPassword(stdin's password) = %t, %v, want true", ok, err)
	}

	// Without stdin: a one-time link, and no password yet.
	code, out, err = runUser(t, env, "", "user", "create", "--email", "root@example.com", "--role", "admin")
	if err != nil || code != 0 {
		t.Fatalf("user create (no stdin) = %d, %v", code, err)
	}
	token := linkToken(t, out)
	if ok, err := st.StaffPasswordTokenValid(ctx, loyalty.HashKey(token)); !ok || err != nil {
		t.Errorf("printed link valid = %t, %v, want true", ok, err)
	}
	root, _ := st.StaffUserByEmail(ctx, "root@example.com")
	if root.PasswordHash != "" {
		t.Errorf("user made without a password has hash %q", root.PasswordHash)
	}

	for _, bad := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"user", "create", "--email", "ada@example.com", "--role", "admin"}}, // taken
		{"", []string{"user", "create", "--email", "x@example.com", "--role", "merchant"}},
		{"", []string{"user", "create", "--email", "x@example.com", "--role", "admin", "--program", "demo"}},
		{"", []string{"user", "create", "--email", "x@example.com", "--role", "root"}},
		{"", []string{"user", "create", "--email", "nope", "--role", "admin"}},
		{"", []string{"user", "create", "--email", "x\x00y@example.com", "--role", "admin"}},
		{"", []string{"user", "create", "--email", "x\xffy@example.com", "--role", "admin"}},
		{"", []string{"user", "create", "--email", "x@example.com", "--role", "pos", "--program", "de\x00mo"}},
		{"", []string{"user", "create", "--email", "x@example.com", "--role", "pos", "--program", "no-such"}},
		{"too short\n", []string{"user", "create", "--email", "x@example.com", "--role", "admin"}},
		{"", []string{"user", "delete", "x"}},
		{"", []string{"user"}},
	} {
		if code, _, err := runUser(t, env, bad.stdin, bad.args...); code == 0 || err == nil {
			t.Errorf("passctl %v = %d, %v, want a failure", bad.args, code, err)
		}
	}
	if _, err := st.StaffUserByEmail(ctx, "x@example.com"); err == nil {
		t.Error("a refused user create stored the user")
	}
}

func TestUserListDisableReset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir, "PASSD_PUBLIC_URL": "https://passd.example"}
	if code, _, err := runUser(t, env, "", "user", "create", "--email", "pos@example.com", "--role", "pos", "--program", "demo"); code != 0 || err != nil {
		t.Fatalf("user create = %d, %v", code, err)
	}
	code, out, err := runUser(t, env, "", "user", "list")
	if code != 0 || err != nil || !strings.Contains(out, "pos@example.com") || !strings.Contains(out, "not yet") {
		t.Fatalf("user list = %d, %v, %q", code, err, out)
	}
	code, out, err = runUser(t, env, "", "user", "reset", "pos@example.com")
	if code != 0 || err != nil {
		t.Fatalf("user reset = %d, %v", code, err)
	}
	token := linkToken(t, out)
	st := openCtlStore(t, dir)
	ctx := context.Background()
	u, _ := st.StaffUserByEmail(ctx, "pos@example.com")
	if err := st.CreateStaffSession(ctx, loyalty.StaffSession{IDHash: "s", UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if code, _, err := runUser(t, env, "", "user", "disable", u.ID); code != 0 || err != nil {
		t.Fatalf("user disable = %d, %v", code, err)
	}
	if _, _, err := st.StaffSession(ctx, "s"); err == nil {
		t.Error("the session of a disabled user lives on")
	}
	if ok, _ := st.StaffPasswordTokenValid(ctx, loyalty.HashKey(token)); ok {
		t.Error("the reset link of a disabled user is still valid")
	}
	for _, args := range [][]string{{"user", "reset", "pos@example.com"}, {"user", "disable", "nobody@example.com"}, {"user", "reset", "usr_unknown"}} {
		if code, _, err := runUser(t, env, "", args...); code == 0 || err == nil {
			t.Errorf("passctl %v = %d, %v, want a failure", args, code, err)
		}
	}
	if _, out, _ := runUser(t, env, "", "user", "list"); !strings.Contains(out, "pos@example.com") || strings.Contains(out, "  -\n") {
		t.Errorf("user list after disable = %q, want the disabled time", out)
	}
}

// TestUserSignsIn: a user made with passctl signs in to a passd on the
// same data folder and sees the demo programme with its member count.
func TestUserSignsIn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir}
	if code, _, err := runUser(t, env, "a long enough password\n", "user", "create", "--email", "ada@example.com", "--role", "merchant", "--program", "demo"); code != 0 || err != nil {
		t.Fatalf("user create = %d, %v", code, err)
	}
	s, _ := servertest.Start(t, env, nil, server.Options{})
	storetest.NewMember(t, s.Store, "demo")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := c.Get(s.URL() + "/console")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if res.Request.URL.Path != "/console/login" || m == nil {
		t.Fatalf("signed out, /console ended at %s without a CSRF field", res.Request.URL.Path)
	}
	res, err = c.PostForm(s.URL()+"/console/login", url.Values{"csrf": {string(m[1])}, "email": {"ada@example.com"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/console" || !bytes.Contains(page, []byte("Demo Coffee Rewards")) || !bytes.Contains(page, []byte(`id="members-demo">1<`)) {
		t.Fatalf("after sign-in: %d at %s:\n%s", res.StatusCode, res.Request.URL.Path, page)
	}
}
