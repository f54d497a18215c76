package cards

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/templates"
)

var update = flag.Bool("update", false, "rewrite golden files")

var secret = []byte("cards-test-secret-cards-test-secret!")

func demo(t *testing.T) *loyalty.Program { return demoForFuzz(t) }

func demoForFuzz(t testing.TB) *loyalty.Program {
	t.Helper()
	c, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ada() loyalty.MemberRow {
	return loyalty.MemberRow{
		Member: loyalty.Member{ID: "5b0e2c1e-8f4d-4b43-9a57-2f9e0c0f6a11", Program: "demo", Number: "4000000006",
			Name: "Ada Lovelace", Email: "ada@example.com", AuthToken: "abcdefghijklmnopqrstuvwxyz234567",
			CreatedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		Account:      balances.Account{Points: 1250, Lifetime: 1500, Qualifying: 1500, Tier: "Silver", PassVersion: 4},
		PassModified: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func TestDemoPassGolden(t *testing.T) {
	t.Parallel()
	c := Card{Member: ada(), Program: demo(t), Message: "Double points this weekend!"}
	p := Pass(c, secret, "https://loyalty.example.com", "pass.com.example.loyalty", "ABCDE12345")
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "demo.pass.golden.json", append(b, '\n'))
	if p.Barcodes[0].Message != loyalty.BarcodeToken(secret, "4000000006") || p.Barcodes[0].AltText != "4000000006" {
		t.Errorf("barcode = %+v, want the member's token with the number as alt text", p.Barcodes[0])
	}
}

func TestErasedPassIsVoidWithoutPersonalData(t *testing.T) {
	t.Parallel()
	m := ada()
	now := time.Now()
	m.ErasedAt = &now
	m.Name, m.Email = "", ""
	p := Pass(Card{Member: m, Program: demo(t)}, secret, "https://x", "pass.a.b", "T")
	b, _ := json.Marshal(p)
	s := string(b)
	if !p.Voided || p.WebServiceURL != "" || p.AuthenticationToken != "" || len(p.Barcodes) != 0 {
		t.Errorf("erased pass = %s, want voided with no web service keys and no barcode", s)
	}
	for _, personal := range []string{"Ada", "4000000006", m.AuthToken} {
		if strings.Contains(s, personal) {
			t.Errorf("erased pass carries %q: %s", personal, s)
		}
	}
}

func TestFilesLocalize(t *testing.T) {
	t.Parallel()
	f := Files(demo(t))
	fr := string(f["fr.lproj/pass.strings"])
	en := string(f["en.lproj/pass.strings"])
	for _, want := range []string{`"Silver" = "Argent";`, `"You now have %@ points" = "Vous avez maintenant %@ points";`, `"how_text" = "Présentez`, `"terms_text" = `} {
		if !strings.Contains(fr, want) {
			t.Errorf("fr pass.strings lacks %q:\n%s", want, fr)
		}
	}
	if !strings.Contains(en, `"how_text" = "Show this card`) {
		t.Errorf("en pass.strings lacks how_text:\n%s", en)
	}
	if _, ok := f["icon@3x.png"]; !ok {
		t.Errorf("files lack icon@3x.png")
	}
	if quote("a\"b\\c\nd") != `"a\"b\\c\nd"` {
		t.Errorf("quote escapes wrongly: %s", quote("a\"b\\c\nd"))
	}
}

func TestRGB(t *testing.T) {
	t.Parallel()
	if got := rgb("#3b2f2f"); got != "rgb(59, 47, 47)" {
		t.Errorf("rgb(#3b2f2f) = %q", got)
	}
}

func TestCacheBuildsOncePerKey(t *testing.T) {
	t.Parallel()
	c := NewCache(1 << 20)
	var builds atomic.Int32
	k := cacheKey{serial: "s", version: 1, template: "h"}
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.get(k, func() ([]byte, error) {
				builds.Add(1)
				<-release
				return []byte("pass"), nil
			})
			if err != nil || string(b) != "pass" {
				t.Errorf("get() = %q, %v", b, err)
			}
		}()
	}
	// Let every goroutine reach the cache before the build ends.
	testkit.Poll(5*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.inflight) == 1
	})
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("20 concurrent gets built %d times, want 1", n)
	}
	c.get(k, func() ([]byte, error) { t.Error("cached key rebuilt"); return nil, nil })
	c.get(cacheKey{serial: "s", version: 2, template: "h"}, func() ([]byte, error) { builds.Add(1); return []byte("v2"), nil })
	if builds.Load() != 2 {
		t.Errorf("a new version was not built")
	}
}

func TestCacheIsBoundedAndSkipsErrors(t *testing.T) {
	t.Parallel()
	c := NewCache(100)
	for i := range 10 {
		c.get(cacheKey{serial: "s", version: int64(i)}, func() ([]byte, error) { return make([]byte, 30), nil })
	}
	entries, size, _, _ := c.Stats()
	if size > 100 || entries != 3 {
		t.Errorf("cache holds %d entries, %d bytes; want 3 entries within 100 bytes", entries, size)
	}
	// The most recent survive.
	hit := true
	c.get(cacheKey{serial: "s", version: 9}, func() ([]byte, error) { hit = false; return make([]byte, 30), nil })
	if !hit {
		t.Errorf("the newest entry was evicted")
	}
	boom := errors.New("boom")
	if _, err := c.get(cacheKey{serial: "e"}, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("get() error = %v, want boom", err)
	}
	built := false
	c.get(cacheKey{serial: "e"}, func() ([]byte, error) { built = true; return []byte("ok"), nil })
	if !built {
		t.Errorf("a failed build was cached")
	}
}
