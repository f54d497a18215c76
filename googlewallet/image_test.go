package googlewallet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/passd/passd/googlewallet"
)

// squarePNG encodes a w x h PNG.
func squarePNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatalf("png.Encode: %v", err)
	}
	return buf.Bytes()
}

// claimSize returns a copy of a PNG whose header (with a correct CRC)
// claims w x h pixels while the pixel data stays as it was.
func claimSize(data []byte, w, h uint32) []byte {
	out := bytes.Clone(data)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func TestCheckSquareLogo(t *testing.T) {
	t.Parallel()
	ok := squarePNG(t, 660, 660)
	tests := []struct {
		name    string
		data    []byte
		wantErr string // substring of the error; "" for none
	}{
		{"minimum", ok, ""},
		{"larger", squarePNG(t, 1024, 1024), ""},
		{"maximum", squarePNG(t, 1980, 1980), ""},
		{"too small", squarePNG(t, 659, 659), "square logo is 659x659 px; want a square of 660x660 px up to 1980x1980 px"},
		{"too large", squarePNG(t, 1981, 1981), "is 1981x1981 px; want a square of 660x660 px"},
		{"not square", squarePNG(t, 1280, 400), "is 1280x400 px; want a square"},
		{"empty", nil, "is empty; want a PNG file"},
		{"too many bytes", append(bytes.Clone(ok), make([]byte, googlewallet.MaxSquareLogoBytes)...), "larger than the 2097152 byte (2 MiB) maximum"},
		{"JPEG", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "is not a PNG file"},
		{"signature only", []byte("\x89PNG\r\n\x1a\n"), "is not a readable PNG file"},
		{"truncated", ok[:len(ok)-20], "is a damaged PNG file"},
		{"decompression bomb", claimSize(ok, 100000, 100000), "is 100000x100000 px; want a square"},
		{"header lies", claimSize(squarePNG(t, 1, 1), 700, 700), "is a damaged PNG file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := googlewallet.CheckSquareLogo(tc.data)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSquareLogo(%d bytes) = %v, want nil", len(tc.data), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckSquareLogo(%d bytes) = %v, want an error containing %q", len(tc.data), err, tc.wantErr)
			}
			if !errors.Is(err, googlewallet.ErrInvalidImage) || !errors.Is(err, googlewallet.ErrInvalid) {
				t.Errorf("CheckSquareLogo() = %v, want it to wrap ErrInvalidImage and ErrInvalid", err)
			}
		})
	}
}

// FuzzCheckSquareLogo feeds arbitrary bytes to CheckSquareLogo, which must
// never panic, must wrap ErrInvalidImage in its errors and may accept only
// data that decodes as a PNG.
func FuzzCheckSquareLogo(f *testing.F) {
	ok := squarePNG(f, 660, 660)
	f.Add(ok)
	f.Add(ok[:len(ok)/2])
	f.Add(claimSize(ok, 1<<31-1, 1<<31-1))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		err := googlewallet.CheckSquareLogo(data)
		if err != nil {
			if !errors.Is(err, googlewallet.ErrInvalidImage) {
				t.Fatalf("CheckSquareLogo() = %v, want it to wrap ErrInvalidImage", err)
			}
			return
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("CheckSquareLogo() accepted data png.Decode refuses: %v", err)
		}
	})
}
