package passkit

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// FileSet is the files of a pass package besides pass.json, manifest.json
// and signature (see Bundle.Files), checked and prepared once: their SHA-1
// digests for the manifest and their finished archive entries. Every pass
// of a program has the same images and translations, so a build with a
// FileSet hashes, compresses and frames only pass.json, manifest.json and
// the signature. A FileSet is immutable and safe for concurrent use.
type FileSet struct {
	names   []string   // sorted
	sums    [][40]byte // lowercase hex SHA-1 of each name's bytes
	hasIcon bool
	// local holds the files' local headers and data, an archive from
	// offset 0 without its central directory; central holds their
	// central directory records, whose offsets therefore hold in every
	// package that starts with local.
	local, central []byte
}

// PrepareFiles checks files (the rules of Bundle.Files) and prepares them
// for BuildBundle, compressed as s would compress them.
func (s *Signer) PrepareFiles(files map[string][]byte) (*FileSet, error) {
	names, err := sortedNames(files)
	if err != nil {
		return nil, fmt.Errorf("prepare files: %w", err)
	}
	fs := &FileSet{names: names, sums: make([][40]byte, len(names))}
	_, fs.hasIcon = files[IconFile]
	for i, n := range names {
		sum := sha1.Sum(files[n])
		hex.Encode(fs.sums[i][:], sum[:])
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, s.compressor)
	for _, n := range names {
		if err := s.addFile(zw, n, files[n]); err != nil {
			return nil, fmt.Errorf("prepare files: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("prepare files: zip: %w", err)
	}
	e, err := readEOCD(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("prepare files: %w", err)
	}
	data := buf.Bytes()
	fs.local = data[:e.offset]
	fs.central = data[e.offset : e.offset+e.size]
	return fs, nil
}

// manifest writes manifest.json: the files' digests and pass.json's, keys
// sorted. Names were checked by sortedNames and hashes are hex, so only
// names need JSON escaping.
func (fs *FileSet) manifest(passJSON []byte) []byte {
	buf := make([]byte, 0, (len(fs.names)+1)*64+2)
	buf = append(buf, '{')
	sum := sha1.Sum(passJSON)
	var passSum [40]byte
	hex.Encode(passSum[:], sum[:])
	passAt, _ := slices.BinarySearch(fs.names, PassFile)
	entry := func(name string, sum []byte) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, name)
		buf = append(buf, ':', '"')
		buf = append(buf, sum...)
		buf = append(buf, '"')
	}
	for i, n := range fs.names {
		if i == passAt {
			entry(PassFile, passSum[:])
		}
		entry(n, fs.sums[i][:])
	}
	if passAt == len(fs.names) {
		entry(PassFile, passSum[:])
	}
	return append(buf, '}')
}

// zip writes the package: the prepared files' entries as they are, then
// pass.json, manifest.json and signature, then one central directory for
// all of them.
func (s *Signer) zip(fs *FileSet, passJSON, manifest, signature []byte) ([]byte, error) {
	size := len(fs.local) + len(fs.central) + len(passJSON) + len(manifest) + len(signature) + 512
	out := bytes.NewBuffer(make([]byte, 0, size))
	out.Write(fs.local)
	zw := zip.NewWriter(out)
	zw.SetOffset(int64(len(fs.local)))
	zw.RegisterCompressor(zip.Deflate, s.compressor)
	for _, f := range []struct {
		name string
		data []byte
	}{{PassFile, passJSON}, {ManifestFile, manifest}, {SignatureFile, signature}} {
		if err := s.addFile(zw, f.name, f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	// The writer's central directory lists its three entries only: put
	// the prepared files' records in front of them and count them in the
	// end record.
	b := out.Bytes()
	e, err := readEOCD(b)
	if err != nil {
		return nil, err
	}
	b = slices.Insert(b, int(e.offset), fs.central...)
	end := b[len(b)-eocdLen:]
	entries := int(e.entries) + len(fs.names)
	if entries >= 0xffff {
		return nil, fmt.Errorf("zip: %d entries: %w", entries, errZip64)
	}
	binary.LittleEndian.PutUint16(end[8:], uint16(entries))
	binary.LittleEndian.PutUint16(end[10:], uint16(entries))
	binary.LittleEndian.PutUint32(end[12:], e.size+uint32(len(fs.central)))
	return b, nil
}

// eocdLen is the size of a ZIP end of central directory record without a
// comment, as archive/zip writes it.
const eocdLen = 22

var errZip64 = errors.New("pass package too large for a plain ZIP archive")

// eocd is what a build needs of an end of central directory record.
type eocd struct {
	entries      uint16
	size, offset uint32
}

// readEOCD reads the end record archive/zip wrote at the end of b, and
// refuses a ZIP64 archive (a pass package is never near its limits).
func readEOCD(b []byte) (eocd, error) {
	if len(b) < eocdLen || binary.LittleEndian.Uint32(b[len(b)-eocdLen:]) != 0x06054b50 {
		return eocd{}, errors.New("zip: no end of central directory record")
	}
	end := b[len(b)-eocdLen:]
	e := eocd{
		entries: binary.LittleEndian.Uint16(end[10:]),
		size:    binary.LittleEndian.Uint32(end[12:]),
		offset:  binary.LittleEndian.Uint32(end[16:]),
	}
	if e.entries == 0xffff || e.size == 0xffffffff || e.offset == 0xffffffff ||
		uint64(e.offset)+uint64(e.size)+eocdLen != uint64(len(b)) {
		return eocd{}, fmt.Errorf("zip: %w", errZip64)
	}
	return e, nil
}
