package passkit

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smallstep/pkcs7"
)

// Limits Verify applies while unpacking, so a hostile archive cannot make
// it allocate without bound.
const (
	maxVerifyFileSize  = 32 << 20
	maxVerifyTotalSize = 128 << 20
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// WWDR, when set, is the intermediate the signer certificate must be
	// issued by, and which the signature must include. When nil, the
	// signer must be issued by a certificate included in the signature.
	WWDR *x509.Certificate
	// Now is when certificate validity is checked. Zero means the signing
	// time recorded in the signature, as iOS does for an installed pass.
	Now time.Time
}

// Problem is one finding of Verify.
type Problem struct {
	// File is the path inside the archive the problem is about, or "" for
	// the archive as a whole.
	File string
	// Message is one line of text.
	Message string
}

// String returns "file: message", or just the message.
func (p Problem) String() string {
	if p.File == "" {
		return p.Message
	}
	return p.File + ": " + p.Message
}

type problems []Problem

func (ps *problems) add(file, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Join(strings.Fields(msg), " ") // one line, whatever errors say
	*ps = append(*ps, Problem{File: displayName(file), Message: msg})
}

// displayName quotes a file name that would break the one-line output
// (control characters, invalid UTF-8) and leaves the others alone.
func displayName(name string) string {
	if utf8.ValidString(name) && strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return name
	}
	return strconv.Quote(name)
}

// Verify checks a .pkpass the way iOS would before installing it and
// returns every problem found, or nil for a good pass:
//
//   - the archive reads, holds no directory entries, no duplicate, absolute,
//     ".." or macOS metadata names;
//   - pass.json, manifest.json, signature and icon.png are present;
//   - pass.json parses, has the required keys with the right types, and
//     passes Pass.Validate (colours, barcodes, fields, web service keys);
//   - manifest.json lists every other file with its SHA-1 and nothing else;
//   - signature is a detached PKCS#7 signature of manifest.json with a
//     signing time, whose signer is issued by the WWDR (opts.WWDR, or the
//     intermediate included in the signature), both valid at opts.Now or
//     the signing time, with UID equal to passTypeIdentifier and OU equal
//     to teamIdentifier;
//   - images are PNGs of plausible sizes for their names and scale.
func Verify(data []byte, opts VerifyOptions) []Problem {
	var ps problems
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		ps.add("", "not a readable ZIP archive: %v", err)
		return ps
	}
	files, order := readArchive(zr, &ps)

	for _, req := range []string{PassFile, ManifestFile, SignatureFile, IconFile} {
		if _, ok := files[req]; ok {
			continue
		}
		hint := ""
		for _, n := range order {
			if strings.HasSuffix(n, "/"+req) && !strings.Contains(n, ".lproj/") {
				hint = fmt.Sprintf(" (found %s: files must sit at the archive root, not in a folder)", n)
				break
			}
		}
		ps.add(req, "required file is missing%s", hint)
	}

	pass, raw := checkPassJSON(files, &ps)
	checkManifest(files, order, &ps)
	checkSignature(files, raw, opts, &ps)
	checkImages(files, order, pass, &ps)
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// readArchive unpacks the archive into memory and reports entries that
// should not be there. order keeps the archive order for stable output.
func readArchive(zr *zip.Reader, ps *problems) (map[string][]byte, []string) {
	files := make(map[string][]byte, len(zr.File))
	var order []string
	var total int64
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") || f.FileInfo().IsDir() {
			ps.add(name, "directory entry; a pass archive holds only files")
			continue
		}
		if err := checkName(name); err != nil {
			ps.add(name, "unacceptable file name: %v", err)
			continue
		}
		if _, dup := files[name]; dup {
			ps.add(name, "appears more than once in the archive")
			continue
		}
		if f.UncompressedSize64 > maxVerifyFileSize {
			ps.add(name, "is %d bytes, larger than the %d bytes Verify reads", f.UncompressedSize64, maxVerifyFileSize)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			ps.add(name, "cannot be read: %v", err)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxVerifyFileSize+1))
		rc.Close()
		switch {
		case err != nil:
			ps.add(name, "cannot be read: %v", err)
			continue
		case len(b) > maxVerifyFileSize:
			ps.add(name, "is larger than the %d bytes Verify reads", maxVerifyFileSize)
			continue
		}
		total += int64(len(b))
		if total > maxVerifyTotalSize {
			ps.add("", "archive unpacks to more than %d bytes; stopped reading", maxVerifyTotalSize)
			break
		}
		files[name] = b
		order = append(order, name)
	}
	return files, order
}

// passIDs are the pass.json values the signature check compares with the
// certificate.
type passIDs struct {
	passTypeID, teamID string
	ok                 bool
}

func checkPassJSON(files map[string][]byte, ps *problems) (*Pass, passIDs) {
	var ids passIDs
	data, ok := files[PassFile]
	if !ok {
		return nil, ids
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		ps.add(PassFile, "is not a JSON object: %v", err)
		return nil, ids
	}
	typeOK := true
	if v, ok := top["formatVersion"]; ok && jsonType(v) != "number" {
		ps.add(PassFile, "formatVersion must be a number, got %s", jsonType(v))
		typeOK = false
	}
	for _, k := range []string{"passTypeIdentifier", "serialNumber", "teamIdentifier", "organizationName",
		"description", "webServiceURL", "authenticationToken", "logoText", "foregroundColor",
		"backgroundColor", "labelColor"} {
		if v, ok := top[k]; ok && jsonType(v) != "string" {
			ps.add(PassFile, "%s must be a string, got %s", k, jsonType(v))
			typeOK = false
		}
	}
	for _, k := range []string{"boardingPass", "coupon", "eventTicket", "generic", "storeCard"} {
		if v, ok := top[k]; ok && jsonType(v) != "object" {
			ps.add(PassFile, "%s must be an object, got %s", k, jsonType(v))
			typeOK = false
		}
	}
	if !typeOK {
		return nil, ids
	}
	var p Pass
	if err := json.Unmarshal(data, &p); err != nil {
		ps.add(PassFile, "does not match the pass.json schema: %v", err)
		return nil, ids
	}
	ids = passIDs{passTypeID: p.PassTypeIdentifier, teamID: p.TeamIdentifier, ok: true}
	var verr *ValidationError
	if err := p.Validate(); errors.As(err, &verr) {
		for _, msg := range verr.Problems {
			ps.add(PassFile, "%s", msg)
		}
	}
	return &p, ids
}

func jsonType(v json.RawMessage) string {
	b := bytes.TrimLeft(v, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func checkManifest(files map[string][]byte, order []string, ps *problems) {
	data, ok := files[ManifestFile]
	if !ok {
		return
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		ps.add(ManifestFile, "is not a JSON object of file names to SHA-1 hashes: %v", err)
		return
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		want := m[n]
		if n == ManifestFile || n == SignatureFile {
			ps.add(ManifestFile, "lists %s, which must not be listed", n)
			continue
		}
		content, ok := files[n]
		if !ok {
			ps.add(ManifestFile, "lists %s, which is not in the archive", n)
			continue
		}
		sum := sha1.Sum(content)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
			ps.add(n, "SHA-1 is %s but manifest.json says %q: the file changed after signing", got, want)
		}
	}
	for _, n := range order {
		if n == ManifestFile || n == SignatureFile {
			continue
		}
		if _, ok := m[n]; !ok {
			ps.add(n, "is not listed in manifest.json")
		}
	}
}

func checkSignature(files map[string][]byte, ids passIDs, opts VerifyOptions, ps *problems) {
	sig, ok := files[SignatureFile]
	manifest, okm := files[ManifestFile]
	if !ok || !okm {
		return
	}
	p7, err := parsePKCS7(sig)
	if err != nil {
		ps.add(SignatureFile, "is not a DER PKCS#7 signature: %v", err)
		return
	}
	if len(p7.Content) > 0 && !bytes.Equal(p7.Content, manifest) {
		ps.add(SignatureFile, "embeds content other than manifest.json; it must be a detached signature")
	}
	p7.Content = manifest
	signer := p7.GetOnlySigner()
	if signer == nil {
		ps.add(SignatureFile, "must have exactly one signer whose certificate is included (found %d signers)", len(p7.Signers))
		return
	}
	if err := verifyPKCS7(p7); err != nil {
		ps.add(SignatureFile, "does not verify over manifest.json: %v", err)
	}
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err != nil {
		ps.add(SignatureFile, "has no signing time (signingTime attribute), which Wallet requires")
	}
	at := opts.Now
	if at.IsZero() {
		at = signingTime
	}
	if at.IsZero() {
		at = time.Now()
	}

	var anchor *x509.Certificate
	if opts.WWDR != nil {
		anchor = opts.WWDR
		if err := signer.CheckSignatureFrom(opts.WWDR); err != nil {
			ps.add(SignatureFile, "signer certificate %q (issuer %q) is not issued by the WWDR certificate %q: %v",
				signer.Subject.CommonName, signer.Issuer.String(), opts.WWDR.Subject.String(), err)
		}
		included := slices.ContainsFunc(p7.Certificates, func(c *x509.Certificate) bool { return c.Equal(opts.WWDR) })
		if !included {
			ps.add(SignatureFile, "does not include the WWDR certificate %q", opts.WWDR.Subject.CommonName)
		}
	} else {
		for _, c := range p7.Certificates {
			if !c.Equal(signer) && signer.CheckSignatureFrom(c) == nil {
				anchor = c
				break
			}
		}
		if anchor == nil {
			ps.add(SignatureFile, "does not include the WWDR intermediate that issued the signer certificate (issuer %q)", signer.Issuer.String())
		}
	}
	if err := checkValidity("signer certificate", signer, at); err != nil {
		ps.add(SignatureFile, "%v", err)
	}
	if anchor != nil {
		if err := checkValidity("WWDR certificate", anchor, at); err != nil {
			ps.add(SignatureFile, "%v", err)
		}
	}
	if ids.ok {
		if got := CertificatePassTypeID(signer); got != ids.passTypeID {
			ps.add(SignatureFile, "signer certificate UID %q differs from passTypeIdentifier %q", got, ids.passTypeID)
		}
		if got := CertificateTeamID(signer); got != ids.teamID {
			ps.add(SignatureFile, "signer certificate OU %q differs from teamIdentifier %q", got, ids.teamID)
		}
	}
}

// parsePKCS7 guards the third-party ASN.1 parser: a malformed signature
// must become a Problem, never a crash of the caller.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("malformed (parser panicked: %v)", r)
		}
	}()
	return pkcs7.Parse(der)
}

func verifyPKCS7(p7 *pkcs7.PKCS7) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed (verifier panicked: %v)", r)
		}
	}()
	return p7.Verify()
}

// imageRule describes the expected size of one image, in points.
type imageRule struct {
	w, h       int  // expected or maximum size at 1x
	minW, minH int  // for exact sizes with a tolerated range; 0 = none
	max        bool // w and h are maxima
}

// sizeProblem says how a w x h px image at the given scale breaks r, or
// returns "" when it fits. stem picks the wording for icons, which must be
// square.
func (r imageRule) sizeProblem(stem string, w, h, scale int) string {
	maxW, maxH := r.w*scale, r.h*scale
	switch {
	case r.max:
		if w > maxW || h > maxH {
			return fmt.Sprintf("is %dx%d px, larger than the %dx%d pt maximum (%dx%d px at @%dx)", w, h, r.w, r.h, maxW, maxH, scale)
		}
	case stem == "icon":
		if w != h || w < r.minW*scale || w > maxW {
			return fmt.Sprintf("is %dx%d px; want a square of %dx%d px (29x29 pt at @%dx) up to %dx%d px (38x38 pt)",
				w, h, r.minW*scale, r.minH*scale, scale, maxW, maxH)
		}
	default:
		if w < r.minW*scale || w > maxW || h < r.minH*scale || h > maxH {
			return fmt.Sprintf("is %dx%d px; want %dx%d to %dx%d px (%dx%d to %dx%d pt at @%dx)",
				w, h, r.minW*scale, r.minH*scale, maxW, maxH, r.minW, r.minH, r.w, r.h, scale)
		}
	}
	return ""
}

func imageRuleFor(stem, style string) (imageRule, string) {
	switch stem {
	case "icon":
		// 29x29 pt (archived guide) up to 38x38 pt (2025 HIG).
		return imageRule{w: 38, h: 38, minW: 29, minH: 29}, ""
	case "logo":
		return imageRule{w: 160, h: 50, max: true}, ""
	case "strip":
		switch style {
		case "storeCard", "coupon":
			// 375x123 pt (archived guide) to 375x144 pt (2025 HIG).
			return imageRule{w: 375, h: 144, minW: 375, minH: 123}, ""
		case "eventTicket":
			return imageRule{w: 375, h: 98, minW: 375, minH: 98}, ""
		}
		return imageRule{}, "is not shown on " + style + " passes"
	case "thumbnail":
		if style == "eventTicket" || style == "generic" {
			return imageRule{w: 90, h: 90, max: true}, ""
		}
		return imageRule{}, "is not shown on " + style + " passes"
	case "background":
		if style == "eventTicket" {
			return imageRule{w: 180, h: 220, max: true}, ""
		}
		return imageRule{}, "is not shown on " + style + " passes"
	case "footer":
		if style == "boardingPass" {
			return imageRule{w: 286, h: 15, max: true}, ""
		}
		return imageRule{}, "is not shown on " + style + " passes"
	case "personalizationLogo":
		return imageRule{w: 150, h: 40, max: true}, ""
	}
	return imageRule{}, ""
}

func passStyle(p *Pass) string {
	switch {
	case p == nil:
		return ""
	case p.StoreCard != nil:
		return "storeCard"
	case p.Coupon != nil:
		return "coupon"
	case p.EventTicket != nil:
		return "eventTicket"
	case p.Generic != nil:
		return "generic"
	case p.BoardingPass != nil:
		return "boardingPass"
	}
	return ""
}

func checkImages(files map[string][]byte, order []string, p *Pass, ps *problems) {
	style := passStyle(p)
	for _, name := range order {
		base := name[strings.LastIndexByte(name, '/')+1:]
		stem, ok := strings.CutSuffix(strings.ToLower(base), ".png")
		if !ok {
			continue
		}
		stem = base[:len(stem)]
		cfg, err := png.DecodeConfig(bytes.NewReader(files[name]))
		if err != nil {
			ps.add(name, "is not a PNG image: %v", err)
			continue
		}
		stem, scale := splitScale(stem)
		if style == "" {
			continue // pass.json is broken already; sizes depend on its style
		}
		rule, unused := imageRuleFor(stem, style)
		if unused != "" {
			ps.add(name, "%s", unused)
			continue
		}
		if rule.w == 0 {
			continue
		}
		if msg := rule.sizeProblem(stem, cfg.Width, cfg.Height, scale); msg != "" {
			ps.add(name, "%s", msg)
		}
	}
}
