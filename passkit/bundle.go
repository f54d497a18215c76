package passkit

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Names of the files a pass package always has.
const (
	PassFile      = "pass.json"
	ManifestFile  = "manifest.json"
	SignatureFile = "signature"
	IconFile      = "icon.png"
)

// MinDeflateSize is the size from which a Signer with a CompressionLevel
// deflates a text file; smaller files gain too little to pay for the
// Huffman tables.
const MinDeflateSize = 1024

// ContentType is the MIME type of a .pkpass file.
const ContentType = "application/vnd.apple.pkpass"

// ErrBadFileName is matched by errors about a file name that cannot go
// into a pass package.
var ErrBadFileName = errors.New("bad file name in pass package")

// ErrMissingIcon means the files of a pass lack icon.png, which every
// pass needs.
var ErrMissingIcon = errors.New("icon.png is required")

// zipModified is the fixed modification time of every archive entry, so
// that two builds of the same pass give the same bytes. 1980-01-01 is the
// first instant the ZIP (MS-DOS) date format can express.
func zipModified() time.Time { return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) }

// Bundle is an unsigned pass package: pass.json plus the other files.
type Bundle struct {
	// Pass becomes pass.json.
	Pass *Pass
	// Files maps slash-separated paths relative to the package root to
	// their bytes: "icon.png", "logo@2x.png", "en.lproj/pass.strings"...
	// pass.json, manifest.json and signature are generated and may not
	// appear here.
	Files map[string][]byte
	// FileSet, instead of Files, gives the files prepared once by
	// Signer.PrepareFiles, for passes that share them.
	FileSet *FileSet
}

// Signer builds and signs pass packages with one set of credentials.
// Make one with NewSigner (the zero value cannot sign). It is safe for
// concurrent use once configured: set Now and CompressionLevel before the
// first Build.
type Signer struct {
	// Now gives the signing time recorded in the signature (the
	// signingTime attribute) and against which the certificate's validity
	// is checked. Nil means time.Now.
	Now func() time.Time
	// CompressionLevel is the compress/flate level for text files of at
	// least MinDeflateSize bytes, such as pass.json. The zero value,
	// flate.NoCompression, stores every file: measured on a 1 KB
	// pass.json, Deflate (even flate.BestSpeed) costs about a quarter of
	// the work of a build besides the RSA signature, to save some 500
	// bytes in an archive whose size the images dominate. PNG images and
	// the signature are always stored, being compressed or random
	// already; Wallet reads both methods.
	CompressionLevel int

	cert       *x509.Certificate
	key        crypto.Signer
	wwdr       *x509.Certificate
	passTypeID string
	teamID     string

	backend string // see Backend
	tmpl    *sigTemplate
	flaters sync.Pool // *flate.Writer, reused between builds
}

// NewSigner checks what does not depend on time (key matches certificate,
// WWDR present and issuer of the certificate, certificate carries a UID
// and OU) and returns a Signer. Validity dates are checked at each Build
// against Now; call Credentials.Check at start-up for a full report.
func NewSigner(c *Credentials) (*Signer, error) {
	if c == nil || c.Certificate == nil {
		return nil, errors.New("new signer: no pass certificate")
	}
	if c.WWDR == nil {
		return nil, fmt.Errorf("new signer: %w", ErrMissingWWDR)
	}
	if err := checkKeyMatch(c.Certificate, c.Key); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	if err := checkIssuedBy(c.Certificate, c.WWDR); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	key, backend, err := nativeKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	s := &Signer{
		cert:       c.Certificate,
		key:        key,
		backend:    backend,
		wwdr:       c.WWDR,
		passTypeID: CertificatePassTypeID(c.Certificate),
		teamID:     CertificateTeamID(c.Certificate),
	}
	if s.passTypeID == "" {
		return nil, fmt.Errorf("new signer: pass certificate %q has no UID (pass type identifier) in its subject: %w", c.Certificate.Subject.CommonName, ErrPassTypeIDMismatch)
	}
	if s.teamID == "" {
		return nil, fmt.Errorf("new signer: pass certificate %q has no OU (team identifier) in its subject: %w", c.Certificate.Subject.CommonName, ErrTeamIDMismatch)
	}
	tmpl, err := newSigTemplate(s)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	s.tmpl = tmpl
	return s, nil
}

// PassTypeID returns the pass type identifier of the signing certificate.
func (s *Signer) PassTypeID() string { return s.passTypeID }

// TeamID returns the team identifier of the signing certificate.
func (s *Signer) TeamID() string { return s.teamID }

// Certificate returns the Pass Type ID certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// WWDR returns the intermediate certificate included in signatures.
func (s *Signer) WWDR() *x509.Certificate { return s.wwdr }

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Build makes a signed .pkpass from a pass and its files (see
// Bundle.Files). Empty FormatVersion, PassTypeIdentifier and
// TeamIdentifier are filled in from the certificate; p itself is not
// modified. The pass must validate and must match the certificate.
//
// With an RSA key the output depends only on the inputs and the signing
// time, so two builds at the same clock are byte-identical.
func (s *Signer) Build(p *Pass, files map[string][]byte) ([]byte, error) {
	return s.BuildBundle(&Bundle{Pass: p, Files: files})
}

// BuildBundle is Build for a Bundle.
func (s *Signer) BuildBundle(b *Bundle) ([]byte, error) {
	if b == nil || b.Pass == nil {
		return nil, errors.New("build pass: no pass")
	}
	fs := b.FileSet
	if fs == nil {
		var err error
		if fs, err = s.PrepareFiles(b.Files); err != nil {
			return nil, fmt.Errorf("build pass: %w", err)
		}
	} else if b.Files != nil {
		return nil, errors.New("build pass: both Files and FileSet given")
	}
	now := s.now()
	if err := checkValidity("pass certificate", s.cert, now); err != nil {
		return nil, fmt.Errorf("build pass: %w", err)
	}
	p := *b.Pass
	if p.FormatVersion == 0 {
		p.FormatVersion = 1
	}
	if p.PassTypeIdentifier == "" {
		p.PassTypeIdentifier = s.passTypeID
	}
	if p.TeamIdentifier == "" {
		p.TeamIdentifier = s.teamID
	}
	if p.PassTypeIdentifier != s.passTypeID {
		return nil, fmt.Errorf("build pass: passTypeIdentifier %q, certificate is for %q: %w", p.PassTypeIdentifier, s.passTypeID, ErrPassTypeIDMismatch)
	}
	if p.TeamIdentifier != s.teamID {
		return nil, fmt.Errorf("build pass: teamIdentifier %q, certificate is for team %q: %w", p.TeamIdentifier, s.teamID, ErrTeamIDMismatch)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("build pass: %w", err)
	}
	if !fs.hasIcon {
		return nil, fmt.Errorf("build pass: %w", ErrMissingIcon)
	}

	passJSON, err := MarshalPass(&p)
	if err != nil {
		return nil, fmt.Errorf("build pass: %w", err)
	}
	manifest := fs.manifest(passJSON)
	signature, err := s.sign(manifest, now)
	if err != nil {
		return nil, fmt.Errorf("build pass: %w", err)
	}
	out, err := s.zip(fs, passJSON, manifest, signature)
	if err != nil {
		return nil, fmt.Errorf("build pass: %w", err)
	}
	return out, nil
}

// MarshalPass encodes pass.json the way Build does: compact, with "<",
// ">" and "&" left as they are (attributedValue may hold <a> links).
func MarshalPass(p *Pass) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode pass.json: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// method answers how a file goes into the archive: deflated when the
// Signer compresses and the file is text of at least MinDeflateSize bytes;
// otherwise stored, being compressed already (PNG, the signature) or too
// small to gain.
func (s *Signer) method(name string, size int) uint16 {
	if s.CompressionLevel == flate.NoCompression || size < MinDeflateSize ||
		name == SignatureFile || strings.HasSuffix(strings.ToLower(name), ".png") {
		return zip.Store
	}
	return zip.Deflate
}

func (s *Signer) addFile(zw *zip.Writer, name string, data []byte) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: s.method(name, len(data)), Modified: zipModified()})
	if err != nil {
		return fmt.Errorf("build pass: zip %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("build pass: zip %s: %w", name, err)
	}
	return nil
}

// compressor hands archive/zip a pooled flate.Writer: allocating one
// costs far more than compressing a pass.json.
func (s *Signer) compressor(w io.Writer) (io.WriteCloser, error) {
	if fw, ok := s.flaters.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return &pooledFlater{fw: fw, pool: &s.flaters}, nil
	}
	fw, err := flate.NewWriter(w, s.CompressionLevel)
	if err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return &pooledFlater{fw: fw, pool: &s.flaters}, nil
}

type pooledFlater struct {
	fw   *flate.Writer
	pool *sync.Pool
}

func (p *pooledFlater) Write(b []byte) (int, error) { return p.fw.Write(b) }

func (p *pooledFlater) Close() error {
	err := p.fw.Close()
	p.pool.Put(p.fw)
	p.fw = nil
	return err
}

// Manifest returns manifest.json for the given files: a JSON object that
// maps each path to the lowercase hex SHA-1 of its bytes, keys sorted.
// files must include pass.json and must not include manifest.json or
// signature.
func Manifest(files map[string][]byte) ([]byte, error) {
	passJSON, ok := files[PassFile]
	if !ok {
		return nil, fmt.Errorf("manifest: %s is missing", PassFile)
	}
	rest := make(map[string][]byte, len(files))
	for n, d := range files {
		if n != PassFile {
			rest[n] = d
		}
	}
	names, err := sortedNames(rest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	fs := &FileSet{names: names, sums: digests(names, rest)}
	return fs.manifest(passJSON), nil
}

// appendJSONString appends s as a JSON string. Unlike encoding/json it
// leaves "<", ">" and "&" alone (attributedValue carries <a> links);
// invalid UTF-8 becomes U+FFFD, as with encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// sortedNames checks every name and returns them sorted.
func sortedNames(files map[string][]byte) ([]string, error) {
	names := make([]string, 0, len(files))
	var dirs map[string]bool
	for n := range files {
		if err := checkName(n); err != nil {
			return nil, err
		}
		switch n {
		case PassFile, ManifestFile, SignatureFile:
			return nil, fmt.Errorf("%q is generated and cannot be given as a file: %w", n, ErrBadFileName)
		}
		for i := 0; i < len(n); i++ {
			if n[i] == '/' {
				if dirs == nil {
					dirs = make(map[string]bool)
				}
				dirs[n[:i]] = true
			}
		}
		names = append(names, n)
	}
	for _, n := range names {
		if dirs[n] {
			return nil, fmt.Errorf("%q is both a file and a folder: %w", n, ErrBadFileName)
		}
	}
	slices.Sort(names)
	return names, nil
}

// checkName accepts slash-separated relative paths without empty, "." or
// ".." segments, backslashes, control characters or macOS metadata.
func checkName(n string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q %s: %w", n, why, ErrBadFileName)
	}
	switch {
	case n == "":
		return bad("is empty")
	case !utf8.ValidString(n):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(n, "/"):
		return bad("is absolute")
	case strings.HasSuffix(n, "/"):
		return bad("is a directory")
	case strings.ContainsRune(n, '\\'):
		return bad("contains a backslash")
	case strings.IndexFunc(n, unicode.IsControl) >= 0:
		return bad("contains a control character")
	}
	for _, seg := range strings.Split(n, "/") {
		switch seg {
		case "":
			return bad("has an empty path segment")
		case ".", "..":
			return bad("has a relative path segment")
		case ".DS_Store", "__MACOSX":
			return bad("is macOS metadata")
		}
	}
	return nil
}
