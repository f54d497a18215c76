package passkit

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
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
	fs := &FileSet{names: names, sums: digests(names, files)}
	_, fs.hasIcon = files[IconFile]
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

// Size answers about the bytes the FileSet holds, for caches bounded by
// bytes.
func (fs *FileSet) Size() int {
	n := len(fs.local) + len(fs.central)
	for _, name := range fs.names {
		n += len(name) + 16 + 40
	}
	return n
}

// digests answers the lowercase hex SHA-1 of each named file, for the
// manifest.
func digests(names []string, files map[string][]byte) [][40]byte {
	sums := make([][40]byte, len(names))
	for i, n := range names {
		sum := sha1.Sum(files[n])
		hex.Encode(sums[i][:], sum[:])
	}
	return sums
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
// all of them. The three entries are framed here rather than through
// archive/zip, whose writer would need its central directory patched and
// costs a buffer per build; archive/zip, Info-ZIP's unzip and
// openssl cms read the result in the tests.
func (s *Signer) zip(fs *FileSet, passJSON, manifest, signature []byte) ([]byte, error) {
	files := [3]struct {
		name string
		data []byte
	}{{PassFile, passJSON}, {ManifestFile, manifest}, {SignatureFile, signature}}
	var entries [3]zipEntry
	size := len(fs.local) + len(fs.central) + eocdLen
	for _, f := range files {
		size += 2*len(f.name) + localHeaderLen + centralHeaderLen + len(f.data)
	}
	out := make([]byte, 0, size)
	out = append(out, fs.local...)
	for i, f := range files {
		payload, method, err := s.encode(f.name, f.data)
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
		entries[i] = zipEntry{name: f.name, method: method, crc: crc32.ChecksumIEEE(f.data),
			csize: uint64(len(payload)), usize: uint64(len(f.data)), offset: uint64(len(out))}
		out = entries[i].appendLocal(out)
		out = append(out, payload...)
	}
	cdStart := len(out)
	out = append(out, fs.central...)
	for _, e := range entries {
		out = e.appendCentral(out)
	}
	n, cdSize := len(fs.names)+len(entries), len(out)-cdStart
	if n >= 0xffff || uint64(len(out)) >= 0xffffffff {
		return nil, fmt.Errorf("zip: %d entries, %d bytes: %w", n, len(out), errZip64)
	}
	out = binary.LittleEndian.AppendUint32(out, 0x06054b50)
	out = binary.LittleEndian.AppendUint32(out, 0) // this disk, the central directory's disk
	out = binary.LittleEndian.AppendUint16(out, uint16(n))
	out = binary.LittleEndian.AppendUint16(out, uint16(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(cdSize))
	out = binary.LittleEndian.AppendUint32(out, uint32(cdStart))
	out = binary.LittleEndian.AppendUint16(out, 0) // comment length
	return out, nil
}

// encode answers a file's bytes as stored in the archive and the method,
// by the rule addFile follows.
func (s *Signer) encode(name string, data []byte) ([]byte, uint16, error) {
	if s.method(name, len(data)) == zip.Store {
		return data, zip.Store, nil
	}
	var buf bytes.Buffer
	w, err := s.compressor(&buf)
	if err != nil {
		return nil, 0, err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return nil, 0, err
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), zip.Deflate, nil
}

// Sizes of the fixed parts of ZIP records.
const (
	localHeaderLen   = 30
	centralHeaderLen = 46
)

// zipEntry is a file framed by zip: sizes are known before the data, so
// there is no data descriptor. Entries carry the fixed date zipModified
// (1980-01-01 00:00 in MS-DOS format: time 0, date 0x21).
type zipEntry struct {
	name                 string
	method               uint16
	crc                  uint32
	csize, usize, offset uint64
}

const (
	zipVersion = 20 // 2.0: deflate
	dosDate    = 1<<5 | 1
)

func (e zipEntry) appendLocal(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, 0x04034b50)
	b = binary.LittleEndian.AppendUint16(b, zipVersion) // needed
	b = e.appendShared(b)
	return append(b, e.name...)
}

func (e zipEntry) appendCentral(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, 0x02014b50)
	b = binary.LittleEndian.AppendUint16(b, zipVersion) // made by
	b = binary.LittleEndian.AppendUint16(b, zipVersion) // needed
	b = e.appendShared(b)
	b = binary.LittleEndian.AppendUint16(b, 0) // comment length
	b = binary.LittleEndian.AppendUint16(b, 0) // disk
	b = binary.LittleEndian.AppendUint16(b, 0) // internal attributes
	b = binary.LittleEndian.AppendUint32(b, 0) // external attributes
	b = binary.LittleEndian.AppendUint32(b, uint32(e.offset))
	return append(b, e.name...)
}

// appendShared appends the fields both headers have, from the flags to the
// extra field's length.
func (e zipEntry) appendShared(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0) // flags
	b = binary.LittleEndian.AppendUint16(b, e.method)
	b = binary.LittleEndian.AppendUint16(b, 0) // time
	b = binary.LittleEndian.AppendUint16(b, dosDate)
	b = binary.LittleEndian.AppendUint32(b, e.crc)
	b = binary.LittleEndian.AppendUint32(b, uint32(e.csize))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.usize))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.name)))
	return binary.LittleEndian.AppendUint16(b, 0) // extra length
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
