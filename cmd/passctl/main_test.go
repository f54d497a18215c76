package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit"
)

func runCtl(t *testing.T, env map[string]string, args ...string) (int, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	code, err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), err
}

func TestAPIKeyCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir}
	code, out, err := runCtl(t, env, "apikey", "create", "--role", "pos", "--program", "demo")
	if err != nil || code != 0 {
		t.Fatalf("apikey create = %d, %v", code, err)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "passd_") || strings.Contains(key, "\n") {
		t.Fatalf("apikey create printed %q, want one key", out)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.APIKeyByHash(context.Background(), loyalty.HashKey(key))
	if err != nil || k.Role != "pos" || k.Program != "demo" {
		t.Errorf("stored key = %+v, %v, want pos scoped to demo", k, err)
	}
	for _, bad := range [][]string{
		{"apikey", "create", "--role", "root"},
		{"apikey", "create"},
		{"apikey", "delete"},
		{"apikey", "revoke"},
		{"apikey", "revoke", "key_unknown"},
		{"apikey", "list", "extra"},
		{"apikey", "create", "--role", "pos", "--program", "nope"},
		{"nonsense"},
		{},
	} {
		if code, _, err := runCtl(t, env, bad...); code == 0 || err == nil {
			t.Errorf("passctl %v = %d, %v, want a failure", bad, code, err)
		}
	}
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir}
	code, out, err := runCtl(t, env, "apikey", "create", "--role", "merchant")
	if err != nil || code != 0 {
		t.Fatalf("apikey create = %d, %v", code, err)
	}
	key := strings.TrimSpace(out)
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.APIKeyByHash(context.Background(), loyalty.HashKey(key))
	if err != nil {
		t.Fatal(err)
	}
	code, out, err = runCtl(t, env, "apikey", "list")
	if err != nil || code != 0 {
		t.Fatalf("apikey list = %d, %v", code, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], k.ID) ||
		!strings.Contains(lines[1], "merchant") || strings.Contains(out, key) || strings.Contains(out, k.Hash) {
		t.Fatalf("apikey list printed %q, want a header and the key's row without the key or its hash", out)
	}
	if f := strings.Fields(lines[1]); f[len(f)-1] != "-" || f[len(f)-2] != "-" {
		t.Errorf("a fresh key's row = %q, want never used and not revoked", lines[1])
	}
	if code, _, err := runCtl(t, env, "apikey", "revoke", k.ID); err != nil || code != 0 {
		t.Fatalf("apikey revoke = %d, %v", code, err)
	}
	k, err = st.APIKeyByHash(context.Background(), loyalty.HashKey(key))
	if err != nil || k.RevokedAt == nil {
		t.Fatalf("key after revoke = %+v, %v, want revoked", k, err)
	}
	_, out, _ = runCtl(t, env, "apikey", "list")
	if f := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1]); f[len(f)-1] == "-" {
		t.Errorf("a revoked key's row = %v, want its revocation time", f)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	code, out, err := runCtl(t, map[string]string{"PASSD_DATA_DIR": t.TempDir()}, "migrate")
	if err != nil || code != 0 || !strings.Contains(out, "sqlite") {
		t.Errorf("migrate = %d, %q, %v", code, out, err)
	}
}

func TestCertsDevAndVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, err := runCtl(t, map[string]string{"PASSD_DATA_DIR": dir}, "certs", "dev")
	if err != nil || code != 0 || !strings.Contains(out, "NOT install") {
		t.Fatalf("certs dev = %d, %q, %v", code, out, err)
	}
	creds, err := passkit.LoadOrGenerateDev(dir, "pass.dev.passd.loyalty", "PASSDDEV01", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := passkit.NewSigner(creds)
	if err != nil {
		t.Fatal(err)
	}
	icon, _ := os.ReadFile("../../templates/demo/icon.png")
	pkpass, err := signer.Build(&passkit.Pass{SerialNumber: "s1", OrganizationName: "O", Description: "D",
		StoreCard: &passkit.Fields{PrimaryFields: []passkit.Field{{Key: "p", Value: passkit.IntValue(5)}}}},
		map[string][]byte{"icon.png": icon})
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.pkpass")
	if err := os.WriteFile(good, pkpass, 0o600); err != nil {
		t.Fatal(err)
	}
	wwdr := filepath.Join(dir, passkit.DevWWDRFile)
	code, out, err = runCtl(t, nil, "verify", good, "--wwdr", wwdr)
	if err != nil || code != 0 || !strings.HasSuffix(strings.TrimSpace(out), ": ok") || strings.Contains(out, "warning") {
		t.Errorf("verify good = %d, %q, %v, want ok without warnings", code, out, err)
	}
	// Without --wwdr the chain is not checked, and passctl says so.
	code, out, err = runCtl(t, nil, "verify", good)
	if err != nil || code != 0 || !strings.Contains(out, "warning: the signer's certificate chain was not checked") {
		t.Errorf("verify without --wwdr = %d, %q, %v, want ok with a warning that the chain was not checked", code, out, err)
	}
	// A pass whose web service is plain http works nowhere: warned.
	httpPass, err := signer.Build(&passkit.Pass{SerialNumber: "s2", OrganizationName: "O", Description: "D",
		WebServiceURL: "http://localhost:8080/passkit", AuthenticationToken: "abcdefghijklmnopqrstuvwxyz",
		StoreCard: &passkit.Fields{PrimaryFields: []passkit.Field{{Key: "p", Value: passkit.IntValue(5)}}}},
		map[string][]byte{"icon.png": icon})
	if err != nil {
		t.Fatal(err)
	}
	httpFile := filepath.Join(dir, "http.pkpass")
	if err := os.WriteFile(httpFile, httpPass, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, err = runCtl(t, nil, "verify", httpFile, "--wwdr", wwdr)
	if err != nil || code != 0 || !strings.Contains(out, `warning: webServiceURL "http://localhost:8080/passkit" is not https`) {
		t.Errorf("verify http web service = %d, %q, %v, want ok with an https warning", code, out, err)
	}
	// A tampered bundle: flip a byte inside the archive.
	bad := append([]byte(nil), pkpass...)
	i := bytes.Index(bad, []byte("PASSDDEV01"))
	if i < 0 {
		// pass.json is compressed; corrupting the archive tail is enough.
		i = len(bad) / 2
	}
	bad[i] ^= 0xff
	badFile := filepath.Join(dir, "bad.pkpass")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, err = runCtl(t, nil, "verify", badFile, "--wwdr", wwdr)
	if err != nil || code != 1 || !strings.Contains(out, "problem") {
		t.Errorf("verify tampered = %d, %q, %v, want exit 1 with problems listed", code, out, err)
	}
	if code, _, err := runCtl(t, nil, "verify"); code != 2 || err == nil {
		t.Errorf("verify with no file = %d, %v, want usage error", code, err)
	}
}
