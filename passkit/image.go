package passkit

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxImageSize is the largest image file CheckImage accepts, in bytes. The
// biggest store card image Apple describes (a 1125x432 px strip) is well
// under 2 MiB even as an uncompressed PNG, and smaller images download
// faster, as the Wallet HIG asks.
const MaxImageSize = 2 << 20

// pngSignature opens every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// ErrInvalidImage is wrapped by every error of CheckImage, so an HTTP layer
// can answer 422 invalid_image with errors.Is.
var ErrInvalidImage = errors.New("invalid image")

// ImageError says why an image was refused. Problem is one sentence meant
// for the merchant who uploaded it: what is wrong and, for sizes, which
// size is expected.
type ImageError struct {
	// Name is the image name as given to CheckImage.
	Name string
	// Problem is what is wrong, such as "is 100x100 px; want a square of
	// 58x58 px (29x29 pt at @2x) up to 76x76 px (38x38 pt)".
	Problem string
	// Err is the decoder's error, when there is one.
	Err error
}

// Error returns "invalid image NAME: PROBLEM".
func (e *ImageError) Error() string {
	return fmt.Sprintf("%s %q: %s", ErrInvalidImage, e.Name, e.Problem)
}

// Unwrap returns ErrInvalidImage and the decoder's error, if any.
func (e *ImageError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidImage}
	}
	return []error{ErrInvalidImage, e.Err}
}

// CheckImage reports whether data is an image Wallet shows well on a store
// card under the given name, and returns an *ImageError wrapping
// ErrInvalidImage when it is not. It reads nothing but its arguments.
//
// name is "icon", "logo" or "strip", optionally followed by "@2x" or "@3x"
// and by ".png". A tier's own strip may be named "strip-TIER" (such as
// "strip-gold@2x"); it follows the strip rules. TIER may hold letters,
// digits, spaces, "-" and "_"; whether the program has that tier is the
// caller's business.
//
// data must be a PNG file of at most MaxImageSize bytes that decodes
// completely, and its pixel size must fit the image and scale (section
// 1.3 of Apple's pass design sizes, times 1, 2 or 3):
//
//   - icon: a square from 29x29 pt (archived Wallet Developer Guide) to
//     38x38 pt (2025 HIG); both are in use and Wallet scales icons.
//   - logo: at most 160x50 pt, any smaller size or shape (Apple gives a
//     maximum and asks not to pad logos out).
//   - strip: exactly 375 pt wide and 123 to 144 pt high. 144 is the 2025
//     HIG's store card strip, 123 the archived guide's; Wallet fills the
//     slot keeping the aspect ratio and crops the overflow, so heights in
//     between lose only a little. The width is exact because a narrower
//     strip would be enlarged and blurred.
//
// These are the rules Verify applies to store card bundles, so an accepted
// image never makes a built pass fail Verify. The pixel size is read from
// the PNG header and checked before the image is decoded, so a small file
// claiming a huge size (a decompression bomb) is refused without
// allocating for it.
func CheckImage(name string, data []byte) error {
	bad := func(format string, args ...any) error {
		return &ImageError{Name: name, Problem: fmt.Sprintf(format, args...)}
	}
	stem, scale, ok := parseImageName(name)
	if !ok {
		return bad("is not a store card image name; want icon, logo, strip or strip-TIER, optionally with @2x or @3x")
	}
	switch {
	case len(data) == 0:
		return bad("is empty; want a PNG file")
	case len(data) > MaxImageSize:
		return bad("is %d bytes, larger than the %d byte (%d MiB) maximum", len(data), MaxImageSize, MaxImageSize>>20)
	case !bytes.HasPrefix(data, []byte(pngSignature)):
		return bad("is not a PNG file (it does not start with the PNG signature)")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return &ImageError{Name: name, Problem: "is not a readable PNG file: " + err.Error(), Err: err}
	}
	rule, _ := imageRuleFor(stem, "storeCard")
	if msg := rule.sizeProblem(stem, cfg.Width, cfg.Height, scale); msg != "" {
		return bad("%s", msg)
	}
	// The header can be fine and the pixel data truncated or corrupt; only
	// a full decode tells, and the size check above bounds its cost.
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return &ImageError{Name: name, Problem: "is a damaged PNG file: " + err.Error(), Err: err}
	}
	return nil
}

// parseImageName splits a CheckImage name into its rule's stem ("icon",
// "logo" or "strip") and its scale.
func parseImageName(name string) (stem string, scale int, ok bool) {
	stem, _ = strings.CutSuffix(name, ".png")
	stem, scale = splitScale(stem)
	if tier, isTier := strings.CutPrefix(stem, "strip-"); isTier && validTier(tier) {
		stem = "strip"
	}
	switch stem {
	case "icon", "logo", "strip":
		return stem, scale, true
	}
	return "", 0, false
}

// validTier reports whether tier can name a tier in "strip-TIER": letters,
// digits, spaces, "-" and "_", so that a stray "@4x" or path element is not
// taken for part of a tier name.
func validTier(tier string) bool {
	return tier != "" && utf8.ValidString(tier) && !strings.ContainsFunc(tier, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' && r != '_'
	})
}

// splitScale cuts an "@2x" or "@3x" suffix off an image stem and returns
// the scale it names, 1 without one.
func splitScale(stem string) (string, int) {
	if s, ok := strings.CutSuffix(stem, "@2x"); ok {
		return s, 2
	}
	if s, ok := strings.CutSuffix(stem, "@3x"); ok {
		return s, 3
	}
	return stem, 1
}
