package passkit

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// goodPass builds a valid .pkpass and returns it unpacked as well.
func goodPass(t *testing.T) ([]byte, []string, map[string][]byte) {
	t.Helper()
	pkpass, err := testSigner(t).Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	names, files := unzip(t, pkpass)
	return pkpass, names, files
}

// resign rebuilds manifest.json and signature for files, as a careless
// tool would after editing the package, so only the checks past the
// manifest can catch the edit.
func resign(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	content := make(map[string][]byte)
	for _, n := range names {
		if n != ManifestFile && n != SignatureFile && !strings.HasSuffix(n, "/") {
			content[n] = files[n]
		}
	}
	m, err := Manifest(content)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := testSigner(t).Sign(m)
	if err != nil {
		t.Fatal(err)
	}
	files[ManifestFile], files[SignatureFile] = m, sig
	return rezip(t, names, files)
}

func TestVerifyCatches(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	for _, tc := range []struct {
		name   string
		mangle func(t *testing.T, names []string, files map[string][]byte) []byte
		want   []string // fragments of one problem
	}{
		{"tampered image", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["logo.png"] = pngOf(t, 100, 50)
			return rezip(t, names, files)
		}, []string{"logo.png: SHA-1 is", "changed after signing"}},
		{"tampered pass.json", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte("120"), []byte("999"), 1)
			return rezip(t, names, files)
		}, []string{"pass.json: SHA-1 is"}},
		{"tampered manifest", func(t *testing.T, names []string, files map[string][]byte) []byte {
			var m map[string]string
			json.Unmarshal(files[ManifestFile], &m)
			files["logo.png"] = pngOf(t, 100, 50)
			sum := sha1.Sum(files["logo.png"])
			m["logo.png"] = hex.EncodeToString(sum[:])
			files[ManifestFile], _ = json.Marshal(m)
			return rezip(t, names, files)
		}, []string{"signature: does not verify over manifest.json", "digest mismatch"}},
		{"directory entry", func(t *testing.T, names []string, files map[string][]byte) []byte {
			return rezip(t, append([]string{"en.lproj/"}, names...), files)
		}, []string{"en.lproj/: directory entry"}},
		{"missing icon", func(t *testing.T, names []string, files map[string][]byte) []byte {
			names = slices.DeleteFunc(names, func(n string) bool { return n == "icon.png" })
			return rezip(t, names, files)
		}, []string{"icon.png: required file is missing"}},
		{"missing icon, re-signed", func(t *testing.T, names []string, files map[string][]byte) []byte {
			names = slices.DeleteFunc(names, func(n string) bool { return n == "icon.png" })
			return resign(t, names, files)
		}, []string{"icon.png: required file is missing"}},
		{"listed file missing", func(t *testing.T, names []string, files map[string][]byte) []byte {
			names = slices.DeleteFunc(names, func(n string) bool { return n == "strip.png" })
			return rezip(t, names, files)
		}, []string{"manifest.json: lists strip.png, which is not in the archive"}},
		{"unlisted file", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["thumbnail.png"] = pngOf(t, 90, 90)
			return rezip(t, append(names, "thumbnail.png"), files)
		}, []string{"thumbnail.png: is not listed in manifest.json"}},
		{"missing signature", func(t *testing.T, names []string, files map[string][]byte) []byte {
			names = slices.DeleteFunc(names, func(n string) bool { return n == SignatureFile })
			return rezip(t, names, files)
		}, []string{"signature: required file is missing"}},
		{"garbage signature", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[SignatureFile] = []byte("not DER")
			return rezip(t, names, files)
		}, []string{"signature: is not a DER PKCS#7 signature"}},
		{"packed in a folder", func(t *testing.T, names []string, files map[string][]byte) []byte {
			var nested []string
			for _, n := range names {
				files["Card.pass/"+n] = files[n]
				nested = append(nested, "Card.pass/"+n)
			}
			return rezip(t, nested, files)
		}, []string{"pass.json: required file is missing (found Card.pass/pass.json"}},
		{"duplicate entry", func(t *testing.T, names []string, files map[string][]byte) []byte {
			return rezip(t, append(names, "icon.png"), files)
		}, []string{"icon.png: appears more than once"}},
		{"macOS metadata", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["__MACOSX/._icon.png"] = []byte{0}
			return rezip(t, append(names, "__MACOSX/._icon.png"), files)
		}, []string{"macOS metadata"}},
		{"wrong type in pass.json", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(`"formatVersion":1`), []byte(`"formatVersion":"1"`), 1)
			return resign(t, names, files)
		}, []string{"pass.json: formatVersion must be a number, got string"}},
		{"pass.json not JSON", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = []byte("{nope")
			return resign(t, names, files)
		}, []string{"pass.json: is not a JSON object"}},
		{"missing required key", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(`"serialNumber":"c0ffee-123",`), nil, 1)
			return resign(t, names, files)
		}, []string{"pass.json: serialNumber is required"}},
		{"short token", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(`0123456789abcdef0123`), []byte("short"), 1)
			return resign(t, names, files)
		}, []string{"pass.json: authenticationToken must be at least 16 characters"}},
		{"http web service", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(`https://wallet.example.com`), []byte("http://wallet.example.com"), 1)
			return resign(t, names, files)
		}, []string{"pass.json: webServiceURL", "must use https"}},
		{"pass type differs from certificate", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(testPassTypeID), []byte("pass.com.example.other"), 1)
			return resign(t, names, files)
		}, []string{`signature: signer certificate UID "pass.com.example.loyalty" differs from passTypeIdentifier "pass.com.example.other"`}},
		{"team differs from certificate", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files[PassFile] = bytes.Replace(files[PassFile], []byte(testTeamID), []byte("ZZZ"), 1)
			return resign(t, names, files)
		}, []string{`signature: signer certificate OU "ABCDE12345" differs from teamIdentifier "ZZZ"`}},
		{"icon wrong size", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["icon@2x.png"] = pngOf(t, 60, 40)
			return resign(t, names, files)
		}, []string{"icon@2x.png: is 60x40 px; want a square of 58x58 px"}},
		{"logo too large", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["logo.png"] = pngOf(t, 320, 100)
			return resign(t, names, files)
		}, []string{"logo.png: is 320x100 px, larger than the 160x50 pt maximum"}},
		{"strip wrong size", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["strip@2x.png"] = pngOf(t, 375, 144)
			return resign(t, names, files)
		}, []string{"strip@2x.png: is 375x144 px; want 750x246 to 750x288 px"}},
		{"thumbnail on a store card", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["thumbnail.png"] = pngOf(t, 90, 90)
			return resign(t, append(names, "thumbnail.png"), files)
		}, []string{"thumbnail.png: is not shown on storeCard passes"}},
		{"not a PNG", func(t *testing.T, names []string, files map[string][]byte) []byte {
			files["logo.png"] = []byte("GIF89a")
			return resign(t, names, files)
		}, []string{"logo.png: is not a PNG image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, names, files := goodPass(t)
			data := tc.mangle(t, names, files)
			ps := Verify(data, VerifyOptions{WWDR: c.WWDR})
			if !hasProblem(ps, tc.want...) {
				t.Errorf("Verify() = %q, want a problem containing %q", problemStrings(ps), tc.want)
			}
			for _, p := range ps {
				if strings.ContainsAny(p.String(), "\n\r") {
					t.Errorf("problem spans several lines: %q", p.String())
				}
			}
		})
	}
}

func TestVerifyIssuer(t *testing.T) {
	t.Parallel()
	pkpass, names, files := goodPass(t)
	other, err := NewDevCredentials(testPassTypeID, testTeamID, testNow)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("real G4", func(t *testing.T) {
		ps := Verify(pkpass, VerifyOptions{WWDR: realWWDR(t)})
		if !hasProblem(ps, "signature: signer certificate", "is not issued by the WWDR certificate", "Apple Worldwide Developer Relations") {
			t.Errorf("Verify(real G4) = %q, want a not-issued-by problem", problemStrings(ps))
		}
		if !hasProblem(ps, "does not include the WWDR certificate") {
			t.Errorf("Verify(real G4) = %q, want a not-included problem", problemStrings(ps))
		}
	})
	ps := Verify(pkpass, VerifyOptions{WWDR: other.WWDR})
	if !hasProblem(ps, "is not issued by the WWDR certificate") {
		t.Errorf("Verify(other dev CA) = %q, want a not-issued-by problem", problemStrings(ps))
	}

	// A signature without the WWDR intermediate.
	s := &Signer{cert: testCredentials(t).Certificate, key: testCredentials(t).Key, wwdr: other.WWDR,
		Now: func() time.Time { return testNow }}
	sig, err := s.Sign(files[ManifestFile])
	if err != nil {
		t.Fatal(err)
	}
	files[SignatureFile] = sig
	data := rezip(t, names, files)
	ps = Verify(data, VerifyOptions{})
	if !hasProblem(ps, "does not include the WWDR intermediate that issued the signer certificate") {
		t.Errorf("Verify(no WWDR included) = %q", problemStrings(ps))
	}

	// Validity is checked at opts.Now when given.
	ps = Verify(pkpass, VerifyOptions{WWDR: testCredentials(t).WWDR, Now: testNow.AddDate(2, 0, 0)})
	if !hasProblem(ps, "signer certificate", "expired on") {
		t.Errorf("Verify(two years later) = %q, want an expiry problem", problemStrings(ps))
	}
}

func TestVerifyGarbage(t *testing.T) {
	t.Parallel()
	for _, data := range [][]byte{nil, []byte("PK\x03\x04"), []byte("not a zip at all")} {
		ps := Verify(data, VerifyOptions{})
		if len(ps) != 1 || !strings.Contains(ps[0].Message, "not a readable ZIP archive") {
			t.Errorf("Verify(%q) = %q, want one unreadable-archive problem", data, problemStrings(ps))
		}
	}
	empty := rezip(t, nil, nil)
	ps := Verify(empty, VerifyOptions{})
	for _, want := range []string{PassFile, ManifestFile, SignatureFile, IconFile} {
		if !hasProblem(ps, want+": required file is missing") {
			t.Errorf("Verify(empty zip) = %q, want %s missing", problemStrings(ps), want)
		}
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	if got := (Problem{File: "icon.png", Message: "missing"}).String(); got != "icon.png: missing" {
		t.Errorf("Problem.String() = %q", got)
	}
	if got := (Problem{Message: "broken"}).String(); got != "broken" {
		t.Errorf("Problem.String() = %q", got)
	}
}
