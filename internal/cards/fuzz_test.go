package cards

import (
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/passkit"
)

// FuzzRender renders and signs the demo card with odd member names and
// merchant messages: every outcome is a bundle that verifies or a clear
// error, never a panic or a broken pass.
func FuzzRender(f *testing.F) {
	for _, name := range []string{
		`Zoë "Quotes" O'Brien`, "👩‍💻 Ada 🎉", "مريم الأحمد", "עִבְרִית", "\u202eevil\u202c", "a\x00b\nc\td",
		strings.Repeat("x", 10000), "", `\"\\`, "<script>alert(1)</script>",
	} {
		f.Add(name, "Double points today!")
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	creds, err := passkit.NewDevCredentials("pass.com.example.fuzz", "FUZZTEAM01", now)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := passkit.NewSigner(creds)
	if err != nil {
		f.Fatal(err)
	}
	signer.Now = func() time.Time { return now }
	var prog = demoForFuzz(f)
	files := Files(prog)
	f.Fuzz(func(t *testing.T, name, message string) {
		m := ada()
		m.Name = name
		c := Card{Member: m, Program: prog, Message: message}
		pkpass, err := signer.Build(Pass(c, secret, "https://loyalty.example.com", "pass.com.example.fuzz", "FUZZTEAM01"), files)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Build(%q) failed without a message", name)
			}
			return
		}
		if ps := passkit.Verify(pkpass, passkit.VerifyOptions{WWDR: creds.WWDR, Now: now}); len(ps) > 0 {
			t.Fatalf("Build(%q) made a pass that does not verify: %v", name, ps)
		}
	})
}
