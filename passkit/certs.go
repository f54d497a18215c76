package passkit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Sentinel errors of the certificate checks; compare with errors.Is.
var (
	// ErrMissingWWDR means no WWDR intermediate certificate is configured.
	ErrMissingWWDR = errors.New("missing WWDR intermediate certificate")
	// ErrCertificateExpired means a certificate's NotAfter has passed.
	ErrCertificateExpired = errors.New("certificate expired")
	// ErrCertificateNotYetValid means a certificate's NotBefore is ahead.
	ErrCertificateNotYetValid = errors.New("certificate not yet valid")
	// ErrKeyMismatch means the private key is not the certificate's key.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrPassTypeIDMismatch means the certificate's UID is not the pass
	// type identifier.
	ErrPassTypeIDMismatch = errors.New("pass type identifier does not match the certificate UID")
	// ErrTeamIDMismatch means the certificate's OU is not the team
	// identifier.
	ErrTeamIDMismatch = errors.New("team identifier does not match the certificate OU")
	// ErrNotIssuedByWWDR means the pass certificate's signature does not
	// verify with the configured WWDR certificate.
	ErrNotIssuedByWWDR = errors.New("pass certificate not issued by the configured WWDR certificate")
	// ErrWrongPassword means a .p12 file could not be decrypted with the
	// password given.
	ErrWrongPassword = errors.New("wrong .p12 password")
)

// AppleWWDRG4SHA256 is the SHA-256 fingerprint (lowercase hex) of Apple's
// "Worldwide Developer Relations Certification Authority" G4 intermediate,
// the issuer of Pass Type ID certificates made since 27 January 2022.
const AppleWWDRG4SHA256 = "ea4757885538dd8cb59ff4556f676087d83c85e70902c122e42c0808b5bce14c"

// oidUID is the userID attribute (0.9.2342.19200300.100.1.1) that carries
// the pass type identifier in the certificate subject.
func oidUID() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1} }

// Credentials are what signing needs: the Pass Type ID certificate, its
// private key and the WWDR intermediate that issued the certificate.
type Credentials struct {
	// Certificate is the Pass Type ID certificate.
	Certificate *x509.Certificate
	// Key is the certificate's private key (RSA or ECDSA).
	Key crypto.Signer
	// WWDR is Apple's WWDR intermediate (or the development CA).
	WWDR *x509.Certificate
}

// IsAppleWWDRG4 reports whether cert is Apple's real WWDR G4 intermediate,
// by the SHA-256 fingerprint of its DER encoding.
func IsAppleWWDRG4(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:]) == AppleWWDRG4SHA256
}

// CertificatePassTypeID returns the pass type identifier of a Pass Type ID
// certificate: the UID attribute of its subject, or "".
func CertificatePassTypeID(cert *x509.Certificate) string {
	for _, n := range cert.Subject.Names {
		if n.Type.Equal(oidUID()) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// CertificateTeamID returns the team identifier of a Pass Type ID
// certificate: the first OU of its subject, or "".
func CertificateTeamID(cert *x509.Certificate) string {
	if len(cert.Subject.OrganizationalUnit) == 0 {
		return ""
	}
	return cert.Subject.OrganizationalUnit[0]
}

// ParseCertificate reads one certificate in PEM or DER form; Apple hands
// out the WWDR certificate as DER (.cer), operators often convert to PEM.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("parse certificate: PEM block is %q, want CERTIFICATE", block.Type)
		}
		der = block.Bytes
	} else if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, errors.New("parse certificate: malformed PEM")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// ParsePrivateKey reads a PEM private key in PKCS#1 ("RSA PRIVATE KEY"),
// PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY") form. Encrypted keys
// are refused: decrypt them first (openssl pkey -in k.pem -out plain.pem).
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("parse private key: no PEM private key block found")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "RSA PRIVATE KEY":
			if _, enc := block.Headers["DEK-Info"]; enc {
				return nil, errors.New("parse private key: the key is encrypted; decrypt it first")
			}
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			if _, enc := block.Headers["DEK-Info"]; enc {
				return nil, errors.New("parse private key: the key is encrypted; decrypt it first")
			}
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("parse private key: the key is encrypted (PKCS#8); decrypt it first")
		default:
			continue // e.g. "EC PARAMETERS" before the key
		}
		if err != nil {
			return nil, fmt.Errorf("parse private key (%s): %w", block.Type, err)
		}
		return asSigner(key)
	}
}

func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return nil, errors.New("private key: Ed25519 keys cannot sign passes; use RSA")
	}
	return nil, fmt.Errorf("private key: unsupported key type %T", key)
}

// LoadPEM reads credentials from PEM data. wwdr may be nil, in which case
// Check reports ErrMissingWWDR; it may be PEM or DER.
func LoadPEM(certPEM, keyPEM, wwdr []byte) (*Credentials, error) {
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pass certificate: %w", err)
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pass key: %w", err)
	}
	c := &Credentials{Certificate: cert, Key: key}
	if len(wwdr) > 0 {
		if c.WWDR, err = ParseCertificate(wwdr); err != nil {
			return nil, fmt.Errorf("WWDR certificate: %w", err)
		}
	}
	return c, nil
}

// LoadPEMFiles reads credentials from files; wwdrFile may be empty.
func LoadPEMFiles(certFile, keyFile, wwdrFile string) (*Credentials, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read pass certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read pass key: %w", err)
	}
	var wwdr []byte
	if wwdrFile != "" {
		if wwdr, err = os.ReadFile(wwdrFile); err != nil {
			return nil, fmt.Errorf("read WWDR certificate: %w", err)
		}
	}
	return LoadPEM(certPEM, keyPEM, wwdr)
}

// LoadP12 reads credentials from a PKCS#12 file, including the AES-256 /
// SHA-256 files OpenSSL 3 writes by default. wwdr (PEM or DER) may be nil:
// then a CA certificate inside the .p12 that issued the pass certificate
// is used, if there is one.
func LoadP12(p12 []byte, password string, wwdr []byte) (*Credentials, error) {
	key, cert, cas, err := pkcs12.DecodeChain(p12, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("decode .p12: %w", ErrWrongPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("decode .p12: %w", err)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, fmt.Errorf(".p12 %w", err)
	}
	c := &Credentials{Certificate: cert, Key: signer}
	if len(wwdr) > 0 {
		if c.WWDR, err = ParseCertificate(wwdr); err != nil {
			return nil, fmt.Errorf("WWDR certificate: %w", err)
		}
		return c, nil
	}
	for _, ca := range cas {
		if cert.CheckSignatureFrom(ca) == nil {
			c.WWDR = ca
			break
		}
	}
	return c, nil
}

// LoadP12File reads credentials from a .p12 file; wwdrFile may be empty.
func LoadP12File(p12File, password, wwdrFile string) (*Credentials, error) {
	p12, err := os.ReadFile(p12File)
	if err != nil {
		return nil, fmt.Errorf("read .p12: %w", err)
	}
	var wwdr []byte
	if wwdrFile != "" {
		if wwdr, err = os.ReadFile(wwdrFile); err != nil {
			return nil, fmt.Errorf("read WWDR certificate: %w", err)
		}
	}
	return LoadP12(p12, password, wwdr)
}

// Check reports every reason the credentials cannot sign passes for
// passTypeID and teamID at time now, joined into one error (nil when all
// is well). Each reason wraps one of the sentinel errors. An empty
// passTypeID or teamID skips that comparison.
//
// The pass certificate must be issued by the WWDR certificate (its
// signature is checked); Apple's root is not needed.
func (c *Credentials) Check(passTypeID, teamID string, now time.Time) error {
	if c == nil || c.Certificate == nil {
		return errors.New("credentials: no pass certificate")
	}
	var errs []error
	cert := c.Certificate
	if err := checkValidity("pass certificate", cert, now); err != nil {
		errs = append(errs, err)
	}
	if err := checkKeyMatch(cert, c.Key); err != nil {
		errs = append(errs, err)
	}
	if passTypeID != "" {
		if got := CertificatePassTypeID(cert); got != passTypeID {
			errs = append(errs, fmt.Errorf("pass certificate is for pass type %q (subject UID), configured pass type is %q: %w", got, passTypeID, ErrPassTypeIDMismatch))
		}
	}
	if teamID != "" {
		if got := CertificateTeamID(cert); got != teamID {
			errs = append(errs, fmt.Errorf("pass certificate belongs to team %q (subject OU), configured team is %q: %w", got, teamID, ErrTeamIDMismatch))
		}
	}
	if c.WWDR == nil {
		errs = append(errs, fmt.Errorf("no WWDR certificate configured; the pass certificate's issuer is %q: %w", cert.Issuer.String(), ErrMissingWWDR))
	} else {
		if err := checkValidity("WWDR certificate", c.WWDR, now); err != nil {
			errs = append(errs, err)
		}
		if err := checkIssuedBy(cert, c.WWDR); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkValidity(what string, cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("%s %q is not valid until %s (now %s): %w", what, cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrCertificateNotYetValid)
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("%s %q expired on %s (now %s): %w", what, cert.Subject.CommonName,
			cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrCertificateExpired)
	}
	return nil
}

func checkKeyMatch(cert *x509.Certificate, key crypto.Signer) error {
	if key == nil {
		return fmt.Errorf("no private key: %w", ErrKeyMismatch)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("the private key is not the key of pass certificate %q: %w", cert.Subject.CommonName, ErrKeyMismatch)
	}
	return nil
}

func checkIssuedBy(cert, wwdr *x509.Certificate) error {
	err := cert.CheckSignatureFrom(wwdr)
	if err == nil {
		return nil
	}
	hint := ""
	if !bytes.Equal(cert.RawIssuer, wwdr.RawSubject) {
		hint = fmt.Sprintf(" (the certificate names issuer %q, the WWDR certificate is %q)", cert.Issuer.String(), wwdr.Subject.String())
	} else if IsAppleWWDRG4(wwdr) || strings.Contains(wwdr.Subject.CommonName, "Worldwide Developer Relations") {
		hint = " (the names match but the signature does not: another WWDR generation?)"
	}
	return fmt.Errorf("pass certificate %q is not signed by WWDR certificate %q%s: %v: %w",
		cert.Subject.CommonName, wwdr.Subject.CommonName, hint, err, ErrNotIssuedByWWDR)
}
