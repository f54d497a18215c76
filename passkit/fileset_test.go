package passkit

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestBuildFileSet checks that a build from prepared files is the very
// package a build from the files makes, for several passes sharing one
// FileSet, and that the package is a valid signed archive.
func TestBuildFileSet(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	c := testCredentials(t)
	files := testFiles(t)
	// A name after pass.json and one before it in the manifest's order.
	files["zz.lproj/pass.strings"] = []byte(`"a" = "b";`)
	files["aa.png"] = pngOf(t, 3, 3)
	fs, err := s.PrepareFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Pass{samplePass(), fullPass(), minimalPass()} {
		want, err := s.Build(p, files)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.BuildBundle(&Bundle{Pass: p, FileSet: fs})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("build with the FileSet differs from the build with the files (%d vs %d bytes)", len(got), len(want))
		}
		if ps := Verify(got, VerifyOptions{WWDR: c.WWDR}); len(ps) != 0 {
			t.Errorf("Verify() = %q, want no problems", problemStrings(ps))
		}
		opensslVerify(t, got, certPEM(c.WWDR), testNow)
		zr, err := zip.NewReader(bytes.NewReader(got), int64(len(got)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != len(files)+3 {
			t.Errorf("%d entries, want %d", len(zr.File), len(files)+3)
		}
		names, entries := unzip(t, got)
		for n, data := range files {
			if !bytes.Equal(entries[n], data) {
				t.Errorf("%s does not read back as given", n)
			}
		}
		if names[len(names)-1] != SignatureFile {
			t.Errorf("last entry %q, want %s", names[len(names)-1], SignatureFile)
		}
		// manifest.json names every file once, keys sorted, with the
		// SHA-1 of the bytes the archive holds.
		var manifest map[string]string
		if err := json.Unmarshal(entries[ManifestFile], &manifest); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		if len(manifest) != len(files)+1 {
			t.Errorf("manifest has %d entries, want %d", len(manifest), len(files)+1)
		}
		for n, data := range entries {
			if n == ManifestFile || n == SignatureFile {
				continue
			}
			if sum := sha1.Sum(data); manifest[n] != hex.EncodeToString(sum[:]) {
				t.Errorf("manifest[%s] = %q, want the SHA-1 of its bytes", n, manifest[n])
			}
		}
		if keys := manifestKeys(t, entries[ManifestFile]); !slices.IsSorted(keys) {
			t.Errorf("manifest keys %v are not sorted", keys)
		}
	}
	pkpass, err := s.BuildBundle(&Bundle{Pass: samplePass(), FileSet: fs})
	if err != nil {
		t.Fatal(err)
	}
	unzipTest(t, pkpass)
}

// manifestKeys answers the keys of manifest.json in the order written.
func manifestKeys(t *testing.T, manifest []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(manifest))
	if _, err := dec.Token(); err != nil { // {
		t.Fatalf("manifest.json: %v", err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		keys = append(keys, k.(string))
		if _, err := dec.Token(); err != nil { // the digest
			t.Fatalf("manifest.json: %v", err)
		}
	}
	return keys
}

// unzipTest has Info-ZIP's unzip, an independent reader, test a package.
func unzipTest(t *testing.T, pkpass []byte) {
	t.Run("unzip -t", func(t *testing.T) {
		bin := needTool(t, "unzip")
		path := filepath.Join(t.TempDir(), "card.pkpass")
		if err := os.WriteFile(path, pkpass, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", path).CombinedOutput(); err != nil {
			t.Errorf("unzip -t: %v\n%s", err, out)
		}
	})
}

func TestPrepareFilesErrors(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	if _, err := s.PrepareFiles(map[string][]byte{"icon.png": {1}, "../x": {2}}); !errors.Is(err, ErrBadFileName) {
		t.Errorf("PrepareFiles(../x) error = %v, want ErrBadFileName", err)
	}
	if _, err := s.PrepareFiles(map[string][]byte{"icon.png": {1}, PassFile: {2}}); !errors.Is(err, ErrBadFileName) {
		t.Errorf("PrepareFiles(pass.json) error = %v, want ErrBadFileName", err)
	}
	noIcon, err := s.PrepareFiles(map[string][]byte{"logo.png": pngOf(t, 3, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildBundle(&Bundle{Pass: samplePass(), FileSet: noIcon}); !errors.Is(err, ErrMissingIcon) {
		t.Errorf("BuildBundle(no icon) error = %v, want ErrMissingIcon", err)
	}
	fs, err := s.PrepareFiles(testFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildBundle(&Bundle{Pass: samplePass(), FileSet: fs, Files: testFiles(t)}); err == nil {
		t.Error("BuildBundle with both Files and FileSet: no error")
	}
	if _, err := readEOCD([]byte("PK not a zip")); err == nil {
		t.Error("readEOCD(garbage): no error")
	}
}
