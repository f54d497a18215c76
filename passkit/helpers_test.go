package passkit

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testPassTypeID = "pass.com.example.loyalty"
	testTeamID     = "ABCDE12345"
	realWWDRPath   = "../../shared/apple/AppleWWDRCAG4.pem"
)

// testNow is the fixed clock of the tests; dev credentials are made at it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// devCreds are made once per test binary: RSA key generation is the slow
// part of most tests. Tests treat them as read-only.
var devCreds = sync.OnceValues(func() (*Credentials, error) {
	return NewDevCredentials(testPassTypeID, testTeamID, testNow)
})

func testCredentials(tb testing.TB) *Credentials {
	tb.Helper()
	c, err := devCreds()
	if err != nil {
		tb.Fatalf("NewDevCredentials: %v", err)
	}
	return c
}

func testSigner(tb testing.TB) *Signer {
	tb.Helper()
	s, err := NewSigner(testCredentials(tb))
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	s.Now = func() time.Time { return testNow }
	return s
}

// pngOf returns a w x h PNG with a simple gradient, so encoders cannot
// shrink it to nothing.
func pngOf(tb testing.TB, w, h int) []byte {
	tb.Helper()
	b, err := encodePNG(w, h)
	if err != nil {
		tb.Fatalf("png.Encode: %v", err)
	}
	return b
}

func encodePNG(w, h int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			copy(row[4*x:], []byte{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

// imageSet is made once; testFiles hands out fresh maps over the same
// (read-only) bytes.
var imageSet = sync.OnceValues(func() (map[string][]byte, error) {
	sizes := map[string][2]int{
		"icon.png": {29, 29}, "icon@2x.png": {58, 58}, "icon@3x.png": {87, 87},
		"logo.png": {160, 50}, "logo@2x.png": {320, 100},
		"strip.png": {375, 144}, "strip@2x.png": {750, 288},
	}
	set := make(map[string][]byte, len(sizes))
	for n, wh := range sizes {
		b, err := encodePNG(wh[0], wh[1])
		if err != nil {
			return nil, err
		}
		set[n] = b
	}
	return set, nil
})

// testFiles is a full image set for a store card plus a localization.
func testFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{
		"en.lproj/pass.strings": []byte("\"POINTS\" = \"Points\";\n"),
		"de.lproj/pass.strings": []byte("\"POINTS\" = \"Punkte\";\n"),
	}
	images, err := imageSet()
	if err != nil {
		tb.Fatalf("png.Encode: %v", err)
	}
	for n, b := range images {
		files[n] = b
	}
	return files
}

func boolPtr(b bool) *bool { return &b }

// samplePass is the loyalty card of the spec's example skeleton.
func samplePass() *Pass {
	return &Pass{
		FormatVersion:       1,
		PassTypeIdentifier:  testPassTypeID,
		SerialNumber:        "c0ffee-123",
		TeamIdentifier:      testTeamID,
		OrganizationName:    "Example Coffee",
		Description:         "Example Coffee loyalty card",
		LogoText:            "Example Coffee",
		ForegroundColor:     "rgb(255, 255, 255)",
		BackgroundColor:     "rgb(60, 65, 76)",
		LabelColor:          "rgb(200, 200, 200)",
		WebServiceURL:       "https://wallet.example.com/passkit",
		AuthenticationToken: "0123456789abcdef0123",
		Barcodes: []Barcode{{
			Format: PKBarcodeFormatQR, Message: "MEMBER-123", MessageEncoding: "iso-8859-1", AltText: "MEMBER-123",
		}},
		StoreCard: &Fields{
			HeaderFields:    []Field{{Key: "points", Label: "POINTS", Value: IntValue(120), ChangeMessage: "You now have %@ points"}},
			PrimaryFields:   []Field{{Key: "balance", Label: "BALANCE", Value: FloatValue(12.5), CurrencyCode: "EUR", ChangeMessage: "Balance is now %@"}},
			SecondaryFields: []Field{{Key: "member", Label: "MEMBER", Value: StringValue("Jane Doe")}},
			AuxiliaryFields: []Field{{Key: "tier", Label: "TIER", Value: StringValue("Gold"), ChangeMessage: "Your tier is now %@"}},
			BackFields:      []Field{{Key: "terms", Label: "Terms", Value: StringValue("Points expire after 12 months.")}},
		},
	}
}

// unzip returns the entries of a .pkpass in archive order.
func unzip(tb testing.TB, data []byte) ([]string, map[string][]byte) {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatalf("zip.NewReader: %v", err)
	}
	var names []string
	files := make(map[string][]byte)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatalf("open %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("read %s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

// rezip writes entries in the given order; a name ending in "/" becomes a
// directory entry.
func rezip(tb testing.TB, names []string, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatalf("zip create %s: %v", n, err)
		}
		if !strings.HasSuffix(n, "/") {
			if _, err := w.Write(files[n]); err != nil {
				tb.Fatalf("zip write %s: %v", n, err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("zip close: %v", err)
	}
	return buf.Bytes()
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPKCS8PEM(tb testing.TB, k crypto.Signer) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		tb.Fatalf("write %s: %v", p, err)
	}
	return p
}

func needOpenSSL(tb testing.TB) string {
	tb.Helper()
	return needTool(tb, "openssl")
}

// needTool answers the path of a command the test runs: CI installs it
// (.ci/run), so there its absence fails the test; elsewhere it skips.
func needTool(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s not found on PATH; CI must have it", name)
		}
		tb.Skipf("%s not found on PATH", name)
	}
	return path
}

// opensslVerify checks the signature of a .pkpass with the openssl
// command line, independently of this package, at time at.
func opensslVerify(tb testing.TB, pkpass []byte, caPEM []byte, at time.Time) {
	tb.Helper()
	openssl := needOpenSSL(tb)
	_, files := unzip(tb, pkpass)
	dir := tb.TempDir()
	sig := writeFile(tb, dir, "signature", files["signature"])
	man := writeFile(tb, dir, "manifest.json", files["manifest.json"])
	ca := writeFile(tb, dir, "ca.pem", caPEM)
	cmd := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER",
		"-in", sig, "-content", man, "-CAfile", ca, "-purpose", "any",
		"-attime", strconv.FormatInt(at.Unix(), 10), "-out", filepath.Join(dir, "out"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Verification successful") {
		tb.Fatalf("openssl cms -verify said:\n%s", out)
	}
}

// issueCert makes a certificate for pub signed by parent/parentKey; with
// parent nil it is self-signed by parentKey (a CA).
func issueCert(tb testing.TB, parent *x509.Certificate, parentKey crypto.Signer, pub crypto.PublicKey, subject pkix.Name, isCA bool, notBefore, notAfter time.Time) *x509.Certificate {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		tb.Fatalf("CreateCertificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("ParseCertificate: %v", err)
	}
	return c
}

func passSubject(passTypeID, teamID string) pkix.Name {
	return pkix.Name{
		CommonName:         "Pass Type ID: " + passTypeID,
		OrganizationalUnit: []string{teamID},
		ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidUID(), Value: passTypeID}},
	}
}

// loadRealWWDR reads Apple's WWDR G4 from the shared folder next to the
// repository, or returns nil when it is not there (a bare clone).
func loadRealWWDR(tb testing.TB) *x509.Certificate {
	tb.Helper()
	data, err := os.ReadFile(realWWDRPath)
	if err != nil {
		return nil
	}
	c, err := ParseCertificate(data)
	if err != nil {
		tb.Fatalf("ParseCertificate(%s): %v", realWWDRPath, err)
	}
	return c
}

// realWWDR is loadRealWWDR for tests that need the certificate.
func realWWDR(tb testing.TB) *x509.Certificate {
	tb.Helper()
	c := loadRealWWDR(tb)
	if c == nil {
		tb.Skipf("Apple WWDR G4 not available at %s", realWWDRPath)
	}
	return c
}

func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// hasProblem reports whether some problem contains all the fragments.
func hasProblem(ps []Problem, fragments ...string) bool {
	for _, p := range ps {
		s := p.String()
		all := true
		for _, f := range fragments {
			if !strings.Contains(s, f) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
