package passkit

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/smallstep/pkcs7"
)

// Sign returns the detached PKCS#7 (CMS) signature, DER, of manifest.json:
// SHA-256 digest, signed attributes contentType, messageDigest and
// signingTime (from Now), and the pass certificate plus the WWDR
// intermediate in the certificate set.
func (s *Signer) Sign(manifest []byte) ([]byte, error) {
	now := s.now()
	if err := checkValidity("pass certificate", s.cert, now); err != nil {
		return nil, fmt.Errorf("sign manifest: %w", err)
	}
	return s.sign(manifest, now)
}

// sign takes the template path when it can and the full pkcs7 path
// otherwise; both give the same bytes.
func (s *Signer) sign(manifest []byte, at time.Time) ([]byte, error) {
	if s.tmpl != nil {
		if der, ok, err := s.tmpl.sign(s.key, manifest, at); ok || err != nil {
			return der, err
		}
	}
	der, _, err := s.signPKCS7(manifest, at)
	return der, err
}

// signPKCS7 builds the SignedData with smallstep/pkcs7. That package
// always stamps signingTime with time.Now, so the signer info is first
// made with a placeholder key that signs nothing; then signingTime is set
// to the injected clock, the attributes are re-sorted as DER requires, and
// the real key signs them once. It also returns the DER of the signed
// attributes (the SET that was signed).
func (s *Signer) signPKCS7(manifest []byte, at time.Time) (der, signedAttrs []byte, err error) {
	sd, err := pkcs7.NewSignedData(manifest)
	if err != nil {
		return nil, nil, fmt.Errorf("sign manifest: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(s.cert, placeholderKey{pub: s.key.Public()}, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, nil, fmt.Errorf("sign manifest: %w", err)
	}
	infos := sd.GetSignedData().SignerInfos
	if len(infos) != 1 {
		return nil, nil, fmt.Errorf("sign manifest: %d signer infos, want 1", len(infos))
	}
	si := &infos[0]
	when, err := asn1.Marshal(at.UTC())
	if err != nil {
		return nil, nil, fmt.Errorf("sign manifest: signing time: %w", err)
	}
	found := false
	for i := range si.AuthenticatedAttributes {
		if si.AuthenticatedAttributes[i].Type.Equal(pkcs7.OIDAttributeSigningTime) {
			si.AuthenticatedAttributes[i].Value.Bytes = when
			found = true
		}
	}
	if !found {
		return nil, nil, errors.New("sign manifest: pkcs7 produced no signingTime attribute")
	}
	encoded := make([][]byte, len(si.AuthenticatedAttributes))
	for i, a := range si.AuthenticatedAttributes {
		if encoded[i], err = asn1.Marshal(signedAttribute{Type: a.Type, Value: a.Value}); err != nil {
			return nil, nil, fmt.Errorf("sign manifest: %w", err)
		}
	}
	// DER orders a SET OF by the encodings of its elements; keep the
	// stored order equal to the signed one.
	perm := make([]int, len(encoded))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(a, b int) bool { return bytes.Compare(encoded[perm[a]], encoded[perm[b]]) < 0 })
	var set []byte
	for _, i := range perm {
		set = append(set, encoded[i]...)
	}
	if !slices.IsSorted(perm) {
		orig := slices.Clone(si.AuthenticatedAttributes)
		for to, from := range perm {
			si.AuthenticatedAttributes[to] = orig[from]
		}
	}
	signedAttrs, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: set})
	if err != nil {
		return nil, nil, fmt.Errorf("sign manifest: %w", err)
	}
	digest := sha256.Sum256(signedAttrs)
	sig, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("sign manifest: %w", err)
	}
	si.EncryptedDigest = sig
	sd.AddCertificate(s.wwdr)
	sd.Detach()
	der, err = sd.Finish()
	if err != nil {
		return nil, nil, fmt.Errorf("sign manifest: %w", err)
	}
	return der, signedAttrs, nil
}

// signedAttribute mirrors the CMS Attribute pkcs7 keeps unexported.
type signedAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

// placeholderKey lets pkcs7 assemble a signer info without spending a
// private-key operation on attributes that are about to change.
type placeholderKey struct{ pub crypto.PublicKey }

func (k placeholderKey) Public() crypto.PublicKey { return k.pub }

func (k placeholderKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}

// sigTemplate is a signature made once by signPKCS7, with the positions
// of the three things that differ between signatures: the manifest
// digest, the signing time and the RSA signature. For an RSA key every
// signature has the same length and layout, so the next ones are made by
// patching a copy, which spares the reflection-based ASN.1 encoding of
// the whole SignedData (most of the cost besides RSA itself) while
// producing exactly the bytes signPKCS7 would.
type sigTemplate struct {
	der                    []byte
	derDigest, derTime     int // offsets of the digest and time TLVs in der
	derSig                 int // offset of the signature value in der
	sigLen                 int
	attrs                  []byte // the DER SET of signed attributes
	attrsDigest, attrsTime int
	timeLen                int // length of the signingTime TLV
}

// templateTime and templateManifest are distinctive inputs whose
// encodings are searched for in the template signature.
func templateTime() time.Time { return time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC) }

func templateManifest() []byte { return []byte(`{"passkit":"signature template"}`) }

// newSigTemplate returns nil when the key's signatures vary in length
// (ECDSA) or the encodings cannot be located unambiguously; Sign then
// always takes the full pkcs7 path.
func newSigTemplate(s *Signer) (*sigTemplate, error) {
	rsaPub, ok := s.key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, nil
	}
	manifest := templateManifest()
	at := templateTime()
	der, attrs, err := s.signPKCS7(manifest, at)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(manifest)
	digestTLV, _ := asn1.Marshal(digest[:])
	timeTLV, _ := asn1.Marshal(at)
	sigDigest := sha256.Sum256(attrs)
	sig, err := s.key.Sign(rand.Reader, sigDigest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign template: %w", err)
	}
	t := &sigTemplate{der: der, attrs: attrs, sigLen: rsaPub.Size(), timeLen: len(timeTLV)}
	var found bool
	if t.derDigest, found = indexOnce(der, digestTLV); !found {
		return nil, nil
	}
	if t.derTime, found = indexOnce(der, timeTLV); !found {
		return nil, nil
	}
	if t.derSig, found = indexOnce(der, sig); !found || len(sig) != t.sigLen {
		return nil, nil
	}
	if t.attrsDigest, found = indexOnce(attrs, digestTLV); !found {
		return nil, nil
	}
	if t.attrsTime, found = indexOnce(attrs, timeTLV); !found {
		return nil, nil
	}
	return t, nil
}

// indexOnce finds the only occurrence of sub in b.
func indexOnce(b, sub []byte) (int, bool) {
	i := bytes.Index(b, sub)
	if i < 0 || bytes.Contains(b[i+1:], sub) {
		return 0, false
	}
	return i, true
}

// sign reports ok=false, with no error, when the template does not fit
// (a signing time from 2050 on is encoded with a longer GeneralizedTime).
func (t *sigTemplate) sign(key crypto.Signer, manifest []byte, at time.Time) (der []byte, ok bool, err error) {
	timeTLV, err := asn1.Marshal(at.UTC())
	if err != nil || len(timeTLV) != t.timeLen {
		return nil, false, nil
	}
	digest := sha256.Sum256(manifest)
	digestTLV := append([]byte{asn1.TagOctetString, sha256.Size}, digest[:]...)

	var buf [256]byte
	attrs := append(buf[:0], t.attrs...)
	copy(attrs[t.attrsDigest:], digestTLV)
	copy(attrs[t.attrsTime:], timeTLV)
	attrsDigest := sha256.Sum256(attrs)
	sig, err := key.Sign(rand.Reader, attrsDigest[:], crypto.SHA256)
	if err != nil {
		return nil, false, fmt.Errorf("sign manifest: %w", err)
	}
	if len(sig) != t.sigLen {
		return nil, false, nil
	}
	der = slices.Clone(t.der)
	copy(der[t.derDigest:], digestTLV)
	copy(der[t.derTime:], timeTLV)
	copy(der[t.derSig:], sig)
	return der, true, nil
}
