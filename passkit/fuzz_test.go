package passkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBuild puts odd text into field values, labels and the organization
// name: every build must give a bundle that verifies and round-trips the
// text, or an error that says what is wrong.
func FuzzBuild(f *testing.F) {
	for _, seed := range []struct {
		org, label, value string
		points            int64
	}{
		{"Example Coffee", "POINTS", "Jane Doe", 120},
		{`Quote "Café" \ backslash`, `"quoted"`, `She said "hi" \o/ </script>`, -1},
		{"Emoji ☕️🎉", "👩‍👩‍👧‍👦 FAMILY", "🏳️‍🌈 Gold ✨", 1 << 53},
		{"مقهى المثال", "النقاط", "مرحبا بالعالم \u200f RTL \u202e override", 0},
		{"x", strings.Repeat("L", 10000), strings.Repeat("ab€", 3334), 9223372036854775807},
		{"Tabs\tand\nnewlines\r", "\x00nul", "\x01\x1f control", -9223372036854775808},
		{"ok", "label", "%@ %d %s %n", 7},
		{"bad \xff utf8", "label", "value", 1},
		{"ok", "label", "", 1},
		{" ", "label", "value", 1},
		{"ok", "\u2028\u2029", "<a href=\"https://example.com\">link</a> & more", 1},
	} {
		f.Add(seed.org, seed.label, seed.value, seed.points)
	}
	s := testSigner(f)
	c := testCredentials(f)
	icon := pngOf(f, 29, 29)
	f.Fuzz(func(t *testing.T, org, label, value string, points int64) {
		p := samplePass()
		p.OrganizationName = org
		p.LogoText = org
		p.StoreCard.HeaderFields[0].Value = IntValue(points)
		p.StoreCard.SecondaryFields[0].Label = label
		p.StoreCard.SecondaryFields[0].Value = StringValue(value)
		p.StoreCard.BackFields[0].Value = StringValue(value + label)
		p.Barcodes[0].AltText = value
		data, err := s.Build(p, map[string][]byte{"icon.png": icon, "en.lproj/pass.strings": []byte(label)})
		if err != nil {
			if !errors.Is(err, ErrInvalidPass) {
				t.Fatalf("Build() error = %v, want a pass validation error", err)
			}
			if msg := err.Error(); len(msg) < len("invalid pass: x") {
				t.Fatalf("Build() error %q says too little", msg)
			}
			valid := utf8.ValidString(org) && utf8.ValidString(label) && utf8.ValidString(value) &&
				strings.TrimSpace(org) != "" && value != ""
			if valid {
				t.Fatalf("Build() rejected valid input: %v", err)
			}
			return
		}
		if ps := Verify(data, VerifyOptions{WWDR: c.WWDR}); len(ps) != 0 {
			t.Fatalf("Verify() = %q, want no problems", problemStrings(ps))
		}
		_, files := unzip(t, data)
		var back Pass
		if err := json.Unmarshal(files[PassFile], &back); err != nil {
			t.Fatalf("pass.json does not parse: %v", err)
		}
		sf := back.StoreCard.SecondaryFields[0]
		if back.OrganizationName != org || sf.Label != label || sf.Value != StringValue(value) ||
			back.StoreCard.HeaderFields[0].Value != IntValue(points) {
			t.Fatalf("pass.json did not keep the values: org %q label %q value %v points %v",
				back.OrganizationName, sf.Label, sf.Value, back.StoreCard.HeaderFields[0].Value)
		}
	})
}

// FuzzVerify feeds arbitrary bytes to Verify, which must never panic and
// must report each problem on one line.
func FuzzVerify(f *testing.F) {
	good, err := testSigner(f).Build(samplePass(), testFiles(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[len(good)/3:])
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	wwdr := testCredentials(f).WWDR
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []VerifyOptions{{}, {WWDR: wwdr}} {
			for _, p := range Verify(data, opts) {
				if p.Message == "" || strings.ContainsAny(p.String(), "\r\n") {
					t.Fatalf("bad problem %q", p.String())
				}
			}
		}
	})
}

// FuzzCheckImage feeds arbitrary names and bytes to CheckImage, which must
// never panic, must wrap ErrInvalidImage in every error it returns, and
// may accept only data that decodes as a PNG.
func FuzzCheckImage(f *testing.F) {
	icon := pngOf(f, 29, 29)
	f.Add("icon", icon)
	f.Add("icon@2x", pngOf(f, 58, 58))
	f.Add("logo@3x", pngOf(f, 480, 150))
	f.Add("strip-gold", pngOf(f, 375, 144))
	f.Add("icon", icon[:len(icon)/2])
	f.Add("icon", withHeaderSize(f, icon, 1<<31-1, 1<<31-1))
	f.Add("strip-", []byte(pngSignature))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		err := CheckImage(name, data)
		if err != nil {
			if !errors.Is(err, ErrInvalidImage) {
				t.Fatalf("CheckImage(%q) = %v, want it to wrap ErrInvalidImage", name, err)
			}
			return
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("CheckImage(%q) accepted data png.Decode refuses: %v", name, err)
		}
	})
}
