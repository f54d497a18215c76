package passkit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

// withHeaderSize returns a copy of the PNG data whose IHDR chunk claims a
// w x h image, with a correct CRC, while the pixel data stays as it was.
func withHeaderSize(tb testing.TB, data []byte, w, h uint32) []byte {
	tb.Helper()
	if !bytes.Equal(data[12:16], []byte("IHDR")) {
		tb.Fatalf("PNG does not start with IHDR")
	}
	out := bytes.Clone(data)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func TestCheckImage(t *testing.T) {
	t.Parallel()
	icon := pngOf(t, 29, 29)
	tests := []struct {
		name    string
		image   string
		data    []byte
		wantErr string // substring of the error; "" for none
	}{
		{"icon archived 1x", "icon", icon, ""},
		{"icon archived 2x", "icon@2x", pngOf(t, 58, 58), ""},
		{"icon archived 3x", "icon@3x", pngOf(t, 87, 87), ""},
		{"icon HIG 1x", "icon", pngOf(t, 38, 38), ""},
		{"icon HIG 2x", "icon@2x", pngOf(t, 76, 76), ""},
		{"icon HIG 3x", "icon@3x", pngOf(t, 114, 114), ""},
		{"icon between sizes", "icon@2x", pngOf(t, 64, 64), ""},
		{"icon with extension", "icon.png", icon, ""},
		{"icon too small", "icon", pngOf(t, 28, 28), "is 28x28 px; want a square of 29x29 px (29x29 pt at @1x) up to 38x38 px (38x38 pt)"},
		{"icon too large", "icon@3x", pngOf(t, 115, 115), "is 115x115 px; want a square of 87x87 px (29x29 pt at @3x) up to 114x114 px"},
		{"icon not square", "icon@2x", pngOf(t, 60, 58), "is 60x58 px; want a square of 58x58 px"},
		{"icon 1x size at 2x", "icon@2x", icon, "is 29x29 px; want a square of 58x58 px"},
		{"logo maximum", "logo", pngOf(t, 160, 50), ""},
		{"logo maximum 2x", "logo@2x", pngOf(t, 320, 100), ""},
		{"logo maximum 3x", "logo@3x", pngOf(t, 480, 150), ""},
		{"logo smaller", "logo", pngOf(t, 50, 50), ""},
		{"logo too wide", "logo", pngOf(t, 161, 50), "is 161x50 px, larger than the 160x50 pt maximum (160x50 px at @1x)"},
		{"logo too high 3x", "logo@3x", pngOf(t, 480, 151), "larger than the 160x50 pt maximum (480x150 px at @3x)"},
		{"strip HIG", "strip", pngOf(t, 375, 144), ""},
		{"strip HIG 2x", "strip@2x", pngOf(t, 750, 288), ""},
		{"strip HIG 3x", "strip@3x", pngOf(t, 1125, 432), ""},
		{"strip archived 2x", "strip@2x", pngOf(t, 750, 246), ""},
		{"strip tier", "strip-gold@2x", pngOf(t, 750, 288), ""},
		{"strip tier with space", "strip-Gold Plus", pngOf(t, 375, 130), ""},
		{"strip too low", "strip", pngOf(t, 375, 122), "is 375x122 px; want 375x123 to 375x144 px (375x123 to 375x144 pt at @1x)"},
		{"strip too high", "strip@2x", pngOf(t, 750, 289), "want 750x246 to 750x288 px"},
		{"strip too narrow", "strip@2x", pngOf(t, 749, 288), "is 749x288 px; want 750x246 to 750x288 px"},
		{"strip tier wrong size", "strip-gold@3x", pngOf(t, 750, 288), "want 1125x369 to 1125x432 px"},
		{"unknown image", "thumbnail", pngOf(t, 90, 90), "not a store card image name; want icon, logo, strip or strip-TIER"},
		{"unknown scale", "icon@4x", icon, "not a store card image name"},
		{"wrong case", "Icon", icon, "not a store card image name"},
		{"empty name", "", icon, "not a store card image name"},
		{"strip with empty tier", "strip-", pngOf(t, 375, 144), "not a store card image name"},
		{"strip tier with path", "strip-a/b", pngOf(t, 375, 144), "not a store card image name"},
		{"strip tier with scale typo", "strip-gold@4x", pngOf(t, 375, 144), "not a store card image name"},
		{"empty body", "icon", nil, "is empty; want a PNG file"},
		{"too large body", "icon", append(bytes.Clone(icon), make([]byte, MaxImageSize)...), "larger than the 2097152 byte (2 MiB) maximum"},
		{"JPEG", "logo", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "is not a PNG file (it does not start with the PNG signature)"},
		{"text", "logo", []byte("<html>hello</html>"), "is not a PNG file"},
		{"signature only", "icon", []byte(pngSignature), "is not a readable PNG file"},
		{"bad header CRC", "icon", func() []byte { b := bytes.Clone(icon); b[29] ^= 0xff; return b }(), "is not a readable PNG file"},
		{"truncated pixels", "icon", icon[:len(icon)-30], "is a damaged PNG file"},
		// Decoding would allocate 40 GB; the header is checked first.
		{"decompression bomb", "icon", withHeaderSize(t, icon, 100000, 100000), "is 100000x100000 px; want a square of 29x29 px"},
		{"bomb at a fitting size", "icon", withHeaderSize(t, pngOf(t, 1, 1), 29, 29), "is a damaged PNG file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckImage(tt.image, tt.data)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckImage(%q, %d bytes) = %v, want nil", tt.image, len(tt.data), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckImage(%q, %d bytes) = %v, want an error containing %q", tt.image, len(tt.data), err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidImage) {
				t.Errorf("CheckImage(%q) = %v, want it to wrap ErrInvalidImage", tt.image, err)
			}
			var ie *ImageError
			if !errors.As(err, &ie) || ie.Name != tt.image || ie.Problem == "" {
				t.Errorf("CheckImage(%q) = %#v, want an *ImageError naming the image", tt.image, err)
			}
		})
	}
}

// TestCheckImageAgreesWithVerify builds a store card from images that
// CheckImage accepts at the edges of its rules: Verify must find nothing.
func TestCheckImageAgreesWithVerify(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{
		"icon.png":     pngOf(t, 38, 38),
		"icon@2x.png":  pngOf(t, 58, 58),
		"logo@3x.png":  pngOf(t, 480, 150),
		"strip.png":    pngOf(t, 375, 123),
		"strip@2x.png": pngOf(t, 750, 288),
	}
	for name, data := range files {
		if err := CheckImage(name, data); err != nil {
			t.Fatalf("CheckImage(%q) = %v, want nil", name, err)
		}
	}
	data, err := testSigner(t).Build(samplePass(), files)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if ps := Verify(data, VerifyOptions{WWDR: testCredentials(t).WWDR}); len(ps) != 0 {
		t.Errorf("Verify() = %q, want no problems", problemStrings(ps))
	}
}
