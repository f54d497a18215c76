package googlewallet

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
)

// Sizes CheckSquareLogo accepts.
const (
	// MinSquareLogoSize is the side, in pixels, Google asks the square
	// program logo to have at least.
	MinSquareLogoSize = 660
	// MaxSquareLogoSize is the largest side accepted, in pixels: three
	// times Google's minimum, which keeps a decoded logo under 16 MB.
	MaxSquareLogoSize = 3 * MinSquareLogoSize
	// MaxSquareLogoBytes is the largest logo file accepted, in bytes.
	MaxSquareLogoBytes = 2 << 20
)

// ErrInvalidImage is wrapped, together with ErrInvalid, by every error of
// CheckSquareLogo, so an HTTP layer can answer 422 invalid_image with
// errors.Is.
var ErrInvalidImage = errors.New("googlewallet: invalid image")

// CheckSquareLogo reports whether data is a square program logo Google
// Wallet shows well (Program.SquareLogoURL): a PNG file of at most
// MaxSquareLogoBytes that decodes completely, square, from
// MinSquareLogoSize to MaxSquareLogoSize pixels a side. Google crops the
// logo to a circle, so a logo that is not square would lose its sides.
// The size is read from the PNG header and checked before decoding, so a
// small file claiming a huge size is refused without allocating for it.
// The error says what is wrong and which size is expected, for the
// merchant who uploaded the file.
func CheckSquareLogo(data []byte) error {
	bad := func(format string, args ...any) error {
		return &imageError{problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(data) == 0:
		return bad("is empty; want a PNG file")
	case len(data) > MaxSquareLogoBytes:
		return bad("is %d bytes, larger than the %d byte (%d MiB) maximum", len(data), MaxSquareLogoBytes, MaxSquareLogoBytes>>20)
	case !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return bad("is not a PNG file (it does not start with the PNG signature)")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return bad("is not a readable PNG file: %v", err)
	}
	if w, h := cfg.Width, cfg.Height; w != h || w < MinSquareLogoSize || w > MaxSquareLogoSize {
		return bad("is %dx%d px; want a square of %dx%d px up to %dx%d px",
			w, h, MinSquareLogoSize, MinSquareLogoSize, MaxSquareLogoSize, MaxSquareLogoSize)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return bad("is a damaged PNG file: %v", err)
	}
	return nil
}

// imageError is an error of CheckSquareLogo; problem is one sentence for
// the merchant.
type imageError struct{ problem string }

func (e *imageError) Error() string { return ErrInvalidImage.Error() + ": square logo " + e.problem }

func (e *imageError) Unwrap() []error { return []error{ErrInvalidImage, ErrInvalid} }
