package passkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPEMKeyFormats(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	rsaKey := c.Key.(*rsa.PrivateKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	pkcs8 := keyPKCS8PEM(t, rsaKey)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := issueCert(t, nil, caKey, &caKey.PublicKey, pkix.Name{CommonName: "EC test CA"}, true, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	ecCert := issueCert(t, ca, caKey, &ecKey.PublicKey, passSubject(testPassTypeID, testTeamID), false, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	sec1DER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	// openssl ecparam -genkey writes the parameters block first.
	sec1 := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})...)

	for _, tc := range []struct {
		name      string
		cert, key []byte
		wwdr      []byte
		wwdrCert  *x509.Certificate
	}{
		{"PKCS#1 RSA", certPEM(c.Certificate), pkcs1, certPEM(c.WWDR), c.WWDR},
		{"PKCS#8 RSA", certPEM(c.Certificate), pkcs8, certPEM(c.WWDR), c.WWDR},
		{"PKCS#8 RSA, DER WWDR", certPEM(c.Certificate), pkcs8, c.WWDR.Raw, c.WWDR},
		{"SEC 1 EC", certPEM(ecCert), sec1, certPEM(ca), ca},
		{"PKCS#8 EC", certPEM(ecCert), keyPKCS8PEM(t, ecKey), certPEM(ca), ca},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds, err := LoadPEM(tc.cert, tc.key, tc.wwdr)
			if err != nil {
				t.Fatalf("LoadPEM() error = %v", err)
			}
			if err := creds.Check(testPassTypeID, testTeamID, testNow); err != nil {
				t.Fatalf("Check() = %v, want nil", err)
			}
			s, err := NewSigner(creds)
			if err != nil {
				t.Fatalf("NewSigner() error = %v", err)
			}
			s.Now = func() time.Time { return testNow }
			pkpass, err := s.Build(samplePass(), testFiles(t))
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			if ps := Verify(pkpass, VerifyOptions{WWDR: tc.wwdrCert}); len(ps) != 0 {
				t.Fatalf("Verify() = %q, want no problems", problemStrings(ps))
			}
			opensslVerify(t, pkpass, certPEM(tc.wwdrCert), testNow)
		})
	}
}

func TestLoadPEMErrors(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	key := keyPKCS8PEM(t, c.Key)
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"garbage cert", []byte("hello"), key, "pass certificate"},
		{"key as cert", key, key, `want CERTIFICATE`},
		{"no key", certPEM(c.Certificate), []byte("nothing"), "no PEM private key block"},
		{"encrypted key", certPEM(c.Certificate), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted"},
		{"broken key", certPEM(c.Certificate), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "parse private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadPEM(tc.cert, tc.key, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadPEM() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadPEMFiles(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", certPEM(c.Certificate))
	key := writeFile(t, dir, "key.pem", keyPKCS8PEM(t, c.Key))
	wwdr := writeFile(t, dir, "wwdr.pem", certPEM(c.WWDR))
	got, err := LoadPEMFiles(cert, key, wwdr)
	if err != nil {
		t.Fatalf("LoadPEMFiles() error = %v", err)
	}
	if !got.Certificate.Equal(c.Certificate) || !got.WWDR.Equal(c.WWDR) {
		t.Errorf("LoadPEMFiles() loaded other certificates")
	}
	if _, err := LoadPEMFiles(filepath.Join(dir, "missing.pem"), key, wwdr); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPEMFiles(missing) error = %v, want os.ErrNotExist", err)
	}
}

// TestLoadP12OpenSSL loads a .p12 written by the machine's openssl, whose
// OpenSSL 3 defaults are AES-256-CBC with PBKDF2 and a SHA-256 MAC.
func TestLoadP12OpenSSL(t *testing.T) {
	t.Parallel()
	openssl := needOpenSSL(t)
	c := testCredentials(t)
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", certPEM(c.Certificate))
	key := writeFile(t, dir, "key.pem", keyPKCS8PEM(t, c.Key))
	wwdr := writeFile(t, dir, "wwdr.pem", certPEM(c.WWDR))
	p12 := filepath.Join(dir, "pass.p12")
	out, err := exec.Command(openssl, "pkcs12", "-export", "-in", cert, "-inkey", key, "-certfile", wwdr,
		"-name", "Pass Type ID", "-out", p12, "-passout", "pass:s3cret pass").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12 -export: %v\n%s", err, out)
	}
	info, err := exec.Command(openssl, "pkcs12", "-info", "-in", p12, "-noout", "-passin", "pass:s3cret pass").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12 -info: %v\n%s", err, info)
	}
	if !strings.Contains(string(info), "AES-256-CBC") || !strings.Contains(string(info), "sha256") {
		t.Logf("openssl pkcs12 -info (expected OpenSSL 3 defaults):\n%s", info)
	}

	t.Run("WWDR from the .p12", func(t *testing.T) {
		t.Parallel()
		got, err := LoadP12File(p12, "s3cret pass", "")
		if err != nil {
			t.Fatalf("LoadP12File() error = %v", err)
		}
		if got.WWDR == nil || !got.WWDR.Equal(c.WWDR) {
			t.Fatalf("LoadP12File() WWDR = %v, want the dev CA from the .p12", got.WWDR)
		}
		if err := got.Check(testPassTypeID, testTeamID, testNow); err != nil {
			t.Fatalf("Check() = %v, want nil", err)
		}
		s, err := NewSigner(got)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return testNow }
		pkpass, err := s.Build(samplePass(), testFiles(t))
		if err != nil {
			t.Fatal(err)
		}
		if ps := Verify(pkpass, VerifyOptions{WWDR: c.WWDR}); len(ps) != 0 {
			t.Errorf("Verify() = %q", problemStrings(ps))
		}
	})
	t.Run("WWDR given", func(t *testing.T) {
		t.Parallel()
		got, err := LoadP12File(p12, "s3cret pass", wwdr)
		if err != nil {
			t.Fatalf("LoadP12File() error = %v", err)
		}
		if !got.WWDR.Equal(c.WWDR) || !got.Certificate.Equal(c.Certificate) {
			t.Errorf("LoadP12File() loaded other certificates")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		_, err := LoadP12File(p12, "wrong", "")
		if !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("LoadP12File(wrong password) error = %v, want ErrWrongPassword", err)
		}
		if !strings.Contains(err.Error(), "wrong .p12 password") {
			t.Errorf("error %q does not say the password is wrong", err)
		}
	})
	t.Run("not a p12", func(t *testing.T) {
		t.Parallel()
		if _, err := LoadP12([]byte("nope"), "x", nil); err == nil || errors.Is(err, ErrWrongPassword) {
			t.Errorf("LoadP12(garbage) error = %v, want a decode error", err)
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	other, err := NewDevCredentials(testPassTypeID, testTeamID, testNow)
	if err != nil {
		t.Fatal(err)
	}
	g4 := loadRealWWDR(t)
	for _, tc := range []struct {
		name       string
		creds      Credentials
		passTypeID string
		teamID     string
		now        time.Time
		want       error
		message    string
	}{
		{"expired", *c, testPassTypeID, testTeamID, testNow.AddDate(2, 0, 0), ErrCertificateExpired, "pass certificate \"Pass Type ID: pass.com.example.loyalty\" expired on"},
		{"not yet valid", *c, testPassTypeID, testTeamID, testNow.Add(-48 * time.Hour), ErrCertificateNotYetValid, "is not valid until"},
		{"mismatched key", Credentials{Certificate: c.Certificate, Key: other.Key, WWDR: c.WWDR}, testPassTypeID, testTeamID, testNow, ErrKeyMismatch, "private key is not the key of pass certificate"},
		{"no key", Credentials{Certificate: c.Certificate, WWDR: c.WWDR}, testPassTypeID, testTeamID, testNow, ErrKeyMismatch, "no private key"},
		{"wrong UID", *c, "pass.com.example.other", testTeamID, testNow, ErrPassTypeIDMismatch, `is for pass type "pass.com.example.loyalty" (subject UID), configured pass type is "pass.com.example.other"`},
		{"wrong OU", *c, testPassTypeID, "ZZZZZ99999", testNow, ErrTeamIDMismatch, `belongs to team "ABCDE12345" (subject OU), configured team is "ZZZZZ99999"`},
		{"wrong issuer (other dev CA)", Credentials{Certificate: c.Certificate, Key: c.Key, WWDR: other.WWDR}, testPassTypeID, testTeamID, testNow, ErrNotIssuedByWWDR, "is not signed by WWDR certificate"},
		{"wrong issuer (real G4)", Credentials{Certificate: c.Certificate, Key: c.Key, WWDR: g4}, testPassTypeID, testTeamID, testNow, ErrNotIssuedByWWDR, `the WWDR certificate is "CN=Apple Worldwide Developer Relations Certification Authority`},
		{"missing WWDR", Credentials{Certificate: c.Certificate, Key: c.Key}, testPassTypeID, testTeamID, testNow, ErrMissingWWDR, "no WWDR certificate configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tc.name, "real G4") && g4 == nil {
				t.Skipf("Apple WWDR G4 not available at %s", realWWDRPath)
			}
			err := tc.creds.Check(tc.passTypeID, tc.teamID, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check() = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("Check() = %q, want a message containing %q", err, tc.message)
			}
		})
	}
	if err := c.Check(testPassTypeID, testTeamID, testNow); err != nil {
		t.Errorf("Check(good) = %v, want nil", err)
	}
	if err := c.Check("", "", testNow); err != nil {
		t.Errorf("Check(no ids) = %v, want nil", err)
	}
	// Several problems at once are all reported.
	bad := Credentials{Certificate: c.Certificate, Key: other.Key}
	err = bad.Check("pass.x", "X", testNow.AddDate(3, 0, 0))
	for _, want := range []error{ErrCertificateExpired, ErrKeyMismatch, ErrPassTypeIDMismatch, ErrTeamIDMismatch, ErrMissingWWDR} {
		if !errors.Is(err, want) {
			t.Errorf("Check(everything wrong) = %v, want it to include %v", err, want)
		}
	}
}

func TestNewSignerRefuses(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	other, err := NewDevCredentials(testPassTypeID, testTeamID, testNow)
	if err != nil {
		t.Fatal(err)
	}
	g4 := loadRealWWDR(t)
	for _, tc := range []struct {
		name  string
		creds *Credentials
		want  error
	}{
		{"missing WWDR", &Credentials{Certificate: c.Certificate, Key: c.Key}, ErrMissingWWDR},
		{"mismatched key", &Credentials{Certificate: c.Certificate, Key: other.Key, WWDR: c.WWDR}, ErrKeyMismatch},
		{"real G4 did not issue the dev cert", &Credentials{Certificate: c.Certificate, Key: c.Key, WWDR: g4}, ErrNotIssuedByWWDR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tc.name, "real G4") && g4 == nil {
				t.Skipf("Apple WWDR G4 not available at %s", realWWDRPath)
			}
			if _, err := NewSigner(tc.creds); !errors.Is(err, tc.want) {
				t.Errorf("NewSigner() error = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewSigner(nil); err == nil {
		t.Errorf("NewSigner(nil) error = nil, want an error")
	}
}

func TestAppleWWDRG4(t *testing.T) {
	t.Parallel()
	g4 := realWWDR(t)
	if !IsAppleWWDRG4(g4) {
		t.Errorf("IsAppleWWDRG4(%s) = false, want true", realWWDRPath)
	}
	if IsAppleWWDRG4(testCredentials(t).WWDR) {
		t.Errorf("IsAppleWWDRG4(dev CA) = true, want false")
	}
	if IsAppleWWDRG4(nil) {
		t.Errorf("IsAppleWWDRG4(nil) = true, want false")
	}
	if got := g4.Subject.OrganizationalUnit; len(got) != 1 || got[0] != "G4" {
		t.Errorf("G4 subject OU = %q, want [G4]", got)
	}
}

func TestCertificateIDs(t *testing.T) {
	t.Parallel()
	c := testCredentials(t)
	if got := CertificatePassTypeID(c.Certificate); got != testPassTypeID {
		t.Errorf("CertificatePassTypeID() = %q, want %q", got, testPassTypeID)
	}
	if got := CertificateTeamID(c.Certificate); got != testTeamID {
		t.Errorf("CertificateTeamID() = %q, want %q", got, testTeamID)
	}
	if got := CertificatePassTypeID(c.WWDR); got != "" {
		t.Errorf("CertificatePassTypeID(CA) = %q, want empty", got)
	}
	if want := "Pass Type ID: " + testPassTypeID; c.Certificate.Subject.CommonName != want {
		t.Errorf("dev certificate CN = %q, want %q", c.Certificate.Subject.CommonName, want)
	}
}
