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
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names GenerateDev writes into its folder.
const (
	DevWWDRFile = "dev-wwdr.pem"
	DevCertFile = "dev-pass-cert.pem"
	DevKeyFile  = "dev-pass-key.pem"
)

// Lifetimes of development certificates. Apple's Pass Type ID
// certificates last about a year; the dev CA outlives a few of them.
const (
	DevCertValidity = 365 * 24 * time.Hour
	DevCAValidity   = 5 * 365 * 24 * time.Hour
)

// devBackdate starts validity a little before now, so a clock that runs
// slightly behind the generating machine still accepts the certificates.
const devBackdate = time.Hour

// NewDevCredentials makes throwaway development credentials in memory: a
// local CA standing in for Apple's WWDR intermediate (ECDSA P-256, quick
// to make) and an RSA-2048 Pass Type ID certificate for passTypeID and
// teamID, valid from an hour before now for DevCertValidity. Passes
// signed with them verify with the dev CA but no device installs them.
func NewDevCredentials(passTypeID, teamID string, now time.Time) (*Credentials, error) {
	if passTypeID == "" || teamID == "" {
		return nil, errors.New("dev credentials: pass type id and team id are required")
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:         "passd Development WWDR Certification Authority",
			OrganizationalUnit: []string{"DEV"},
			Organization:       []string{"passd development"},
		},
		NotBefore:             now.Add(-devBackdate),
		NotAfter:              now.Add(DevCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: CA certificate: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: pass key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:         "Pass Type ID: " + passTypeID,
			OrganizationalUnit: []string{teamID},
			Organization:       []string{"passd development"},
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidUID(), Value: passTypeID}},
		},
		NotBefore: now.Add(-devBackdate),
		NotAfter:  now.Add(DevCertValidity),
		KeyUsage:  x509.KeyUsageDigitalSignature,
		// Client auth is what APNs checks; email protection is the S/MIME
		// purpose a strict CMS verifier asks for.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: pass certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: pass certificate: %w", err)
	}
	return &Credentials{Certificate: cert, Key: key, WWDR: ca}, nil
}

func randomSerial() *big.Int {
	// 127 random bits: positive and well under the 20-octet limit.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return n.Add(n, big.NewInt(1))
}

// GenerateDev makes development credentials (see NewDevCredentials) and
// writes them to dir as DevWWDRFile, DevCertFile and DevKeyFile (PKCS#8,
// mode 0600), replacing any there. The dev CA's own key is not kept:
// nothing else needs to be signed with it.
func GenerateDev(dir, passTypeID, teamID string, now time.Time) (*Credentials, error) {
	c, err := NewDevCredentials(passTypeID, teamID, now)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("dev credentials: encode key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev credentials: %w", err)
	}
	files := []struct {
		name  string
		typ   string
		der   []byte
		perms os.FileMode
	}{
		{DevKeyFile, "PRIVATE KEY", keyDER, 0o600},
		{DevCertFile, "CERTIFICATE", c.Certificate.Raw, 0o644},
		{DevWWDRFile, "CERTIFICATE", c.WWDR.Raw, 0o644},
	}
	for _, f := range files {
		data := pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der})
		if err := writeFileAtomic(filepath.Join(dir, f.name), data, f.perms); err != nil {
			return nil, fmt.Errorf("dev credentials: %w", err)
		}
	}
	return c, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a
// crash never leaves half a key behind, and sets perm even when the file
// existed with wider permissions.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadOrGenerateDev returns the development credentials in dir, making
// them first when none are there, or when the ones there no longer fit
// (expired, or made for another pass type or team). Only the dev files
// are ever replaced; if just some of the three files exist, or they
// cannot be read, it returns an error rather than guess.
func LoadOrGenerateDev(dir, passTypeID, teamID string, now time.Time) (*Credentials, error) {
	paths := []string{filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile), filepath.Join(dir, DevWWDRFile)}
	present := 0
	for _, p := range paths {
		_, err := os.Stat(p)
		switch {
		case err == nil:
			present++
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("dev credentials: %w", err)
		}
	}
	switch present {
	case 0:
		return GenerateDev(dir, passTypeID, teamID, now)
	case len(paths):
	default:
		return nil, fmt.Errorf("dev credentials: only %d of %s, %s, %s exist in %s; remove them to regenerate",
			present, DevCertFile, DevKeyFile, DevWWDRFile, dir)
	}
	c, err := LoadPEMFiles(paths[0], paths[1], paths[2])
	if err != nil {
		return nil, fmt.Errorf("dev credentials: %w", err)
	}
	err = c.Check(passTypeID, teamID, now)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, ErrCertificateExpired), errors.Is(err, ErrCertificateNotYetValid),
		errors.Is(err, ErrPassTypeIDMismatch), errors.Is(err, ErrTeamIDMismatch):
		return GenerateDev(dir, passTypeID, teamID, now)
	default:
		return nil, fmt.Errorf("dev credentials in %s: %w", dir, err)
	}
}
