package passkit

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smallstep/pkcs7"
)

func TestBuildVerifies(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	c := testCredentials(t)
	for _, tc := range []struct {
		name  string
		pass  *Pass
		files map[string][]byte
	}{
		{"sample", samplePass(), testFiles(t)},
		{"full", fullPass(), testFiles(t)},
		{"minimal, icon only", minimalPass(), map[string][]byte{"icon.png": pngOf(t, 29, 29)}},
		{"ids filled from certificate", func() *Pass {
			p := samplePass()
			p.FormatVersion, p.PassTypeIdentifier, p.TeamIdentifier = 0, "", ""
			return p
		}(), testFiles(t)},
		{"localhost web service", func() *Pass {
			p := samplePass()
			p.WebServiceURL = "http://localhost:8080/passkit"
			return p
		}(), testFiles(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pkpass, err := s.Build(tc.pass, tc.files)
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			if ps := Verify(pkpass, VerifyOptions{WWDR: c.WWDR}); len(ps) != 0 {
				t.Errorf("Verify(WWDR given) = %q, want no problems", problemStrings(ps))
			}
			if ps := Verify(pkpass, VerifyOptions{}); len(ps) != 0 {
				t.Errorf("Verify(included WWDR) = %q, want no problems", problemStrings(ps))
			}
			opensslVerify(t, pkpass, certPEM(c.WWDR), testNow)
		})
	}
}

func TestBuildLayout(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	files := testFiles(t)
	pkpass, err := s.Build(samplePass(), files)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			t.Errorf("archive has directory entry %q", f.Name)
		}
		if !f.Modified.Equal(zipModified()) {
			t.Errorf("%s modified = %v, want the fixed %v", f.Name, f.Modified, zipModified())
		}
		if f.Method != zip.Store {
			t.Errorf("%s method = %d, want Store (%d) by default", f.Name, f.Method, zip.Store)
		}
	}
	// The given files come first, in name order, so that their entries
	// are the same bytes at the same offsets in every pass (FileSet).
	want := []string{"de.lproj/pass.strings", "en.lproj/pass.strings", "icon.png", "icon@2x.png", "icon@3x.png",
		"logo.png", "logo@2x.png", "strip.png", "strip@2x.png", "pass.json", "manifest.json", "signature"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("archive order (-want +got):\n%s", diff)
	}

	_, got := unzip(t, pkpass)
	var manifest map[string]string
	if err := json.Unmarshal(got[ManifestFile], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != len(files)+1 {
		t.Errorf("manifest has %d entries, want %d (files + pass.json)", len(manifest), len(files)+1)
	}
	for n, b := range got {
		if n == ManifestFile || n == SignatureFile {
			if _, ok := manifest[n]; ok {
				t.Errorf("manifest lists %s", n)
			}
			continue
		}
		sum := sha1.Sum(b)
		if manifest[n] != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest[%s] = %q, want SHA-1 %x", n, manifest[n], sum)
		}
	}
	if _, ok := manifest["en.lproj/pass.strings"]; !ok {
		t.Errorf("manifest lacks the full path en.lproj/pass.strings: %v", manifest)
	}

	// The signature: detached, SHA-256, signing time from the clock, with
	// the pass certificate and the WWDR.
	p7, err := pkcs7.Parse(got[SignatureFile])
	if err != nil {
		t.Fatalf("pkcs7.Parse(signature) error = %v", err)
	}
	if len(p7.Content) != 0 {
		t.Errorf("signature embeds %d bytes of content, want a detached signature", len(p7.Content))
	}
	if !p7.Signers[0].DigestAlgorithm.Algorithm.Equal(pkcs7.OIDDigestAlgorithmSHA256) {
		t.Errorf("digest algorithm = %v, want SHA-256", p7.Signers[0].DigestAlgorithm.Algorithm)
	}
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err != nil {
		t.Fatalf("signingTime attribute: %v", err)
	}
	if !signingTime.Equal(testNow) {
		t.Errorf("signingTime = %v, want the injected clock %v", signingTime, testNow)
	}
	c := testCredentials(t)
	if len(p7.Certificates) != 2 || !p7.Certificates[0].Equal(c.Certificate) || !p7.Certificates[1].Equal(c.WWDR) {
		t.Errorf("signature certificates = %d, want [pass certificate, WWDR]", len(p7.Certificates))
	}
	p7.Content = got[ManifestFile]
	if err := p7.Verify(); err != nil {
		t.Errorf("pkcs7 Verify() = %v", err)
	}
}

func TestBuildDeflate(t *testing.T) {
	t.Parallel()
	for _, level := range []int{flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		s := testSigner(t)
		s.CompressionLevel = level
		files := testFiles(t)
		files["en.lproj/pass.strings"] = bytes.Repeat([]byte("\"KEY\" = \"Value\";\n"), 100)
		pkpass, err := s.Build(samplePass(), files)
		if err != nil {
			t.Fatalf("Build(level %d) error = %v", level, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			want := zip.Store
			if f.Name == PassFile || f.Name == "en.lproj/pass.strings" { // text over MinDeflateSize
				want = zip.Deflate
			}
			if f.Method != want {
				t.Errorf("level %d: %s method = %d, want %d", level, f.Name, f.Method, want)
			}
		}
		if ps := Verify(pkpass, VerifyOptions{WWDR: testCredentials(t).WWDR}); len(ps) != 0 {
			t.Errorf("Verify(level %d) = %q", level, problemStrings(ps))
		}
		unzipTest(t, pkpass)
		again, err := s.Build(samplePass(), files)
		if err != nil || !bytes.Equal(again, pkpass) {
			t.Errorf("Build(level %d) is not deterministic with pooled compressors (err %v)", level, err)
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	a, err := s.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two builds at the same clock differ (%d vs %d bytes)", len(a), len(b))
	}

	later := testSigner(t)
	later.Now = func() time.Time { return testNow.Add(time.Minute) }
	c, err := later.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Errorf("builds a minute apart are identical; the signing time is not recorded")
	}
	_, fa := unzip(t, a)
	_, fc := unzip(t, c)
	for _, n := range []string{PassFile, ManifestFile, "icon.png"} {
		if !bytes.Equal(fa[n], fc[n]) {
			t.Errorf("%s differs between builds at different times; only the signature should", n)
		}
	}
}

func TestBuildSignsAtClock(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"expired", testNow.AddDate(2, 0, 0), ErrCertificateExpired},
		{"not yet valid", testNow.AddDate(0, 0, -2), ErrCertificateNotYetValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testSigner(t)
			s.Now = func() time.Time { return tc.now }
			if _, err := s.Build(samplePass(), testFiles(t)); !errors.Is(err, tc.want) {
				t.Errorf("Build() error = %v, want %v", err, tc.want)
			}
			if _, err := s.Sign([]byte("{}")); !errors.Is(err, tc.want) {
				t.Errorf("Sign() error = %v, want %v", err, tc.want)
			}
		})
	}
	s := testSigner(t)
	later := testNow.Add(200 * 24 * time.Hour)
	s.Now = func() time.Time { return later }
	pkpass, err := s.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Verify(pkpass, VerifyOptions{WWDR: c.WWDR}); len(ps) != 0 {
		t.Errorf("Verify() = %q", problemStrings(ps))
	}
	opensslVerify(t, pkpass, certPEM(c.WWDR), later)
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	icon := pngOf(t, 29, 29)
	for _, tc := range []struct {
		name  string
		pass  *Pass
		files map[string][]byte
		want  error
		msg   string
	}{
		{"invalid pass", &Pass{StoreCard: &Fields{}}, map[string][]byte{"icon.png": icon}, ErrInvalidPass, "organizationName is required"},
		{"other pass type", func() *Pass { p := samplePass(); p.PassTypeIdentifier = "pass.other"; return p }(), map[string][]byte{"icon.png": icon}, ErrPassTypeIDMismatch, `"pass.other"`},
		{"other team", func() *Pass { p := samplePass(); p.TeamIdentifier = "OTHER"; return p }(), map[string][]byte{"icon.png": icon}, ErrTeamIDMismatch, `"OTHER"`},
		{"no icon", samplePass(), map[string][]byte{"logo.png": icon}, ErrMissingIcon, "icon.png is required"},
		{"pass.json as a file", samplePass(), map[string][]byte{"icon.png": icon, "pass.json": []byte("{}")}, ErrBadFileName, "is generated"},
		{"signature as a file", samplePass(), map[string][]byte{"icon.png": icon, "signature": nil}, ErrBadFileName, "is generated"},
		{"dot dot", samplePass(), map[string][]byte{"icon.png": icon, "../x.png": icon}, ErrBadFileName, "relative path segment"},
		{"absolute", samplePass(), map[string][]byte{"icon.png": icon, "/x.png": icon}, ErrBadFileName, "absolute"},
		{"directory", samplePass(), map[string][]byte{"icon.png": icon, "en.lproj/": nil}, ErrBadFileName, "is a directory"},
		{"backslash", samplePass(), map[string][]byte{"icon.png": icon, `en.lproj\x.png`: icon}, ErrBadFileName, "backslash"},
		{"DS_Store", samplePass(), map[string][]byte{"icon.png": icon, ".DS_Store": nil}, ErrBadFileName, "macOS metadata"},
		{"file and folder", samplePass(), map[string][]byte{"icon.png": icon, "en.lproj": nil, "en.lproj/pass.strings": nil}, ErrBadFileName, "both a file and a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Build(tc.pass, tc.files)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Build() error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Build() error = %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	if _, err := s.Build(nil, nil); err == nil {
		t.Errorf("Build(nil) error = nil, want an error")
	}
}

func TestManifestAndSign(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{
		"pass.json":                    []byte(`{}`),
		"icon.png":                     []byte("icon"),
		"zh-Hans.lproj/pass.strings":   []byte("strings"),
		`odd "name".png`:               []byte("x"),
		"en.lproj/logo@2x.png":         []byte("logo"),
		"fr.lproj/personalization.png": nil,
	}
	m, err := Manifest(files)
	if err != nil {
		t.Fatalf("Manifest() error = %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(m, &got); err != nil {
		t.Fatalf("Manifest() is not JSON: %v\n%s", err, m)
	}
	for n, b := range files {
		sum := sha1.Sum(b)
		if got[n] != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest[%q] = %q, want %x", n, got[n], sum)
		}
	}
	keys := make([]string, 0, len(got))
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		keys = append(keys, tok.(string))
		dec.Token()
	}
	if !slices.IsSorted(keys) {
		t.Errorf("manifest keys %q are not sorted", keys)
	}
	if _, err := Manifest(map[string][]byte{"icon.png": nil}); err == nil {
		t.Errorf("Manifest(no pass.json) error = nil, want an error")
	}

	s := testSigner(t)
	sig, err := s.Sign(m)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	p7.Content = m
	if err := p7.Verify(); err != nil {
		t.Errorf("Sign() output does not verify: %v", err)
	}
	p7.Content = append(m, ' ')
	if err := p7.Verify(); err == nil {
		t.Errorf("Sign() output verifies over other content")
	}
}

func TestSignerAccessors(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	c := testCredentials(t)
	if s.PassTypeID() != testPassTypeID || s.TeamID() != testTeamID {
		t.Errorf("PassTypeID(), TeamID() = %q, %q, want %q, %q", s.PassTypeID(), s.TeamID(), testPassTypeID, testTeamID)
	}
	if !s.Certificate().Equal(c.Certificate) || !s.WWDR().Equal(c.WWDR) {
		t.Errorf("Certificate() or WWDR() returned other certificates")
	}
}

func TestBuildConcurrent(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	want, err := s.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := s.Build(samplePass(), testFiles(t))
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("concurrent build differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSignTemplate checks that the template fast path gives exactly the
// bytes of the full pkcs7 path, and falls back where it must.
func TestSignTemplate(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	if s.tmpl == nil {
		t.Fatal("no signature template for an RSA key")
	}
	for _, tc := range []struct {
		manifest string
		at       time.Time
	}{
		{`{"pass.json":"x"}`, testNow},
		{"", testNow.Add(time.Second)},
		{strings.Repeat("m", 100000), time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"{}", time.Date(1999, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))},
	} {
		fast, ok, err := s.tmpl.sign(s.key, []byte(tc.manifest), tc.at)
		if err != nil || !ok {
			t.Fatalf("template sign(%v) = ok %v, err %v", tc.at, ok, err)
		}
		slow, _, err := s.signPKCS7([]byte(tc.manifest), tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, slow) {
			t.Errorf("template signature at %v differs from the pkcs7 one", tc.at)
		}
	}
	// From 2050 signingTime is a GeneralizedTime: the template steps aside
	// and the pkcs7 path still signs.
	late := time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok, _ := s.tmpl.sign(s.key, []byte("{}"), late); ok {
		t.Errorf("template sign(2050) ok = true, want a fallback")
	}
	der, err := s.sign([]byte("{}"), late)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	var got time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &got); err != nil || !got.Equal(late) {
		t.Errorf("signingTime = %v, %v, want %v", got, err, late)
	}
}

// TestSignerBackend runs in both builds (go test and go test -tags
// openssl): whichever backend signs, its signatures are byte for byte
// those of crypto/rsa with the same key, so the whole suite above checks
// the same PKCS#7 for both, openssl cms -verify included.
func TestSignerBackend(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	if got := s.Backend(); got != SignerBackend() {
		t.Errorf("Backend() = %q for an RSA key, want this build's %q", got, SignerBackend())
	}
	goKey := testCredentials(t).Key.(*rsa.PrivateKey)
	for i := range 4 {
		digest := sha256.Sum256([]byte{byte(i)})
		got, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("%s Sign: %v", s.Backend(), err)
		}
		want, err := rsa.SignPKCS1v15(rand.Reader, goKey, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s signature %d differs from crypto/rsa's", s.Backend(), i)
		}
	}
	if _, err := s.key.Sign(rand.Reader, make([]byte, 20), crypto.SHA1); err == nil && s.Backend() == "openssl" {
		t.Errorf("openssl Sign(SHA-1) succeeded; only SHA-256 is supported")
	}

	// A key that is not an in-memory RSA key is signed through Go.
	c := *testCredentials(t)
	c.Key = hashKey{c.Key}
	other, err := NewSigner(&c)
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Backend(); got != "go" {
		t.Errorf("Backend() = %q for a crypto.Signer that is not *rsa.PrivateKey, want go", got)
	}
}
