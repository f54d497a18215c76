package passkit

import (
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewDevCredentials(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	if err := c.Check(testPassTypeID, testTeamID, testNow); err != nil {
		t.Fatalf("Check() = %v, want nil", err)
	}
	key, ok := c.Key.(*rsa.PrivateKey)
	if !ok || key.N.BitLen() != 2048 {
		t.Errorf("dev key = %T, want RSA-2048", c.Key)
	}
	cert := c.Certificate
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("dev certificate EKU = %v, want client auth (APNs)", cert.ExtKeyUsage)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("dev certificate lacks digitalSignature key usage")
	}
	if d := cert.NotAfter.Sub(testNow); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("dev certificate lasts %v past now, want about a year", d)
	}
	if !c.WWDR.IsCA || c.WWDR.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("dev CA is not a CA")
	}
	if c.WWDR.NotAfter.Before(cert.NotAfter) {
		t.Errorf("dev CA expires before the pass certificate")
	}
	if _, err := NewDevCredentials("", testTeamID, testNow); err == nil {
		t.Errorf("NewDevCredentials(no pass type) error = nil, want an error")
	}
}

func TestGenerateDev(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "certs")
	c, err := GenerateDev(dir, testPassTypeID, testTeamID, testNow)
	if err != nil {
		t.Fatalf("GenerateDev() error = %v", err)
	}
	for _, f := range []struct {
		name string
		perm os.FileMode
	}{{DevKeyFile, 0o600}, {DevCertFile, 0o644}, {DevWWDRFile, 0o644}} {
		info, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatalf("stat %s: %v", f.name, err)
		}
		if got := info.Mode().Perm(); got != f.perm {
			t.Errorf("%s mode = %v, want %v", f.name, got, f.perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("%s holds %d entries, want exactly the 3 dev files", dir, len(entries))
	}
	loaded, err := LoadPEMFiles(filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile), filepath.Join(dir, DevWWDRFile))
	if err != nil {
		t.Fatalf("LoadPEMFiles(dev files) error = %v", err)
	}
	if !loaded.Certificate.Equal(c.Certificate) || !loaded.WWDR.Equal(c.WWDR) {
		t.Errorf("files hold other certificates than GenerateDev returned")
	}
	key, err := os.ReadFile(filepath.Join(dir, DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(key), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("dev key is not PKCS#8 PEM")
	}
	// The files work with openssl: the signature of a pass verifies
	// against dev-wwdr.pem.
	s, err := NewSigner(loaded)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testNow }
	pkpass, err := s.Build(samplePass(), testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	wwdr, err := os.ReadFile(filepath.Join(dir, DevWWDRFile))
	if err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, pkpass, wwdr, testNow)
}

func TestLoadOrGenerateDev(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := LoadOrGenerateDev(dir, testPassTypeID, testTeamID, testNow)
	if err != nil {
		t.Fatalf("LoadOrGenerateDev(empty dir) error = %v", err)
	}
	again, err := LoadOrGenerateDev(dir, testPassTypeID, testTeamID, testNow.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("LoadOrGenerateDev(again) error = %v", err)
	}
	if !again.Certificate.Equal(first.Certificate) {
		t.Errorf("LoadOrGenerateDev() made new credentials although the old ones fit")
	}

	renamed, err := LoadOrGenerateDev(dir, "pass.com.example.renamed", testTeamID, testNow)
	if err != nil {
		t.Fatalf("LoadOrGenerateDev(other pass type) error = %v", err)
	}
	if renamed.Certificate.Equal(first.Certificate) || CertificatePassTypeID(renamed.Certificate) != "pass.com.example.renamed" {
		t.Errorf("LoadOrGenerateDev(other pass type) kept the old certificate")
	}

	expired, err := LoadOrGenerateDev(dir, "pass.com.example.renamed", testTeamID, testNow.AddDate(2, 0, 0))
	if err != nil {
		t.Fatalf("LoadOrGenerateDev(after expiry) error = %v", err)
	}
	if expired.Certificate.Equal(renamed.Certificate) {
		t.Errorf("LoadOrGenerateDev(after expiry) kept the expired certificate")
	}

	// Partial sets are not silently replaced.
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, DevCertFile), certPEM(first.Certificate), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrGenerateDev(partial, testPassTypeID, testTeamID, testNow); err == nil || !strings.Contains(err.Error(), "only 1 of") {
		t.Errorf("LoadOrGenerateDev(partial) error = %v, want an error about missing files", err)
	}

	// Unreadable files are reported, not overwritten.
	broken := t.TempDir()
	for _, n := range []string{DevCertFile, DevKeyFile, DevWWDRFile} {
		if err := os.WriteFile(filepath.Join(broken, n), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadOrGenerateDev(broken, testPassTypeID, testTeamID, testNow); err == nil {
		t.Errorf("LoadOrGenerateDev(junk files) error = nil, want an error")
	}
}
