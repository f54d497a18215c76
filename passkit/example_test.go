package passkit_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"time"

	"github.com/passd/passd/passkit"
)

// iconPNG returns a blank square PNG of the given side in pixels.
func iconPNG(size int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, size, size))); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// A loyalty card signed with throwaway development credentials, then
// checked the way a device would check it.
func ExampleSigner_Build() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	creds, err := passkit.NewDevCredentials("pass.com.example.loyalty", "ABCDE12345", now)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := passkit.NewSigner(creds)
	if err != nil {
		log.Fatal(err)
	}
	signer.Now = func() time.Time { return now }

	pass := &passkit.Pass{
		SerialNumber:        "member-42",
		OrganizationName:    "Example Coffee",
		Description:         "Example Coffee loyalty card",
		BackgroundColor:     passkit.RGB(60, 65, 76),
		WebServiceURL:       "https://wallet.example.com/passkit",
		AuthenticationToken: "a-secret-of-16-or-more-characters",
		Barcodes: []passkit.Barcode{{
			Format: passkit.PKBarcodeFormatQR, Message: "MEMBER-42", MessageEncoding: "iso-8859-1",
		}},
		StoreCard: &passkit.Fields{
			HeaderFields: []passkit.Field{{
				Key: "points", Label: "POINTS", Value: passkit.IntValue(120),
				ChangeMessage: "You now have %@ points",
			}},
		},
	}
	pkpass, err := signer.Build(pass, map[string][]byte{
		"icon.png":    iconPNG(29),
		"icon@2x.png": iconPNG(58),
	})
	if err != nil {
		log.Fatal(err)
	}
	problems := passkit.Verify(pkpass, passkit.VerifyOptions{WWDR: creds.WWDR})
	fmt.Println("problems:", len(problems))
	// Output: problems: 0
}

func ExamplePass_Validate() {
	p := &passkit.Pass{
		FormatVersion:       1,
		PassTypeIdentifier:  "pass.com.example.loyalty",
		SerialNumber:        "1",
		TeamIdentifier:      "ABCDE12345",
		OrganizationName:    "Example Coffee",
		Description:         "Example Coffee loyalty card",
		ForegroundColor:     "#ffffff",
		WebServiceURL:       "http://wallet.example.com/passkit",
		AuthenticationToken: "short",
		StoreCard:           &passkit.Fields{},
	}
	err := p.Validate()
	if verr, ok := err.(*passkit.ValidationError); ok {
		for _, problem := range verr.Problems {
			fmt.Println(problem)
		}
	}
	// Output:
	// foregroundColor "#ffffff" must be of the form rgb(r, g, b) with r, g, b in 0..255
	// webServiceURL "http://wallet.example.com/passkit" must use https (plain http is accepted only for localhost during development)
	// authenticationToken must be at least 16 characters when webServiceURL is set, got 5
}

// Checking a .pkpass from elsewhere: each problem is one line of text.
func ExampleVerify() {
	problems := passkit.Verify([]byte("not a pass"), passkit.VerifyOptions{})
	for _, p := range problems {
		fmt.Println(p)
	}
	// Output: not a readable ZIP archive: zip: not a valid zip file
}

// Start-up checks of configured credentials: each reason wraps a
// sentinel error.
func ExampleCredentials_Check() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	creds, err := passkit.NewDevCredentials("pass.com.example.loyalty", "ABCDE12345", now)
	if err != nil {
		log.Fatal(err)
	}
	err = creds.Check("pass.com.example.other", "ABCDE12345", now)
	fmt.Println(err)
	// Output: pass certificate is for pass type "pass.com.example.loyalty" (subject UID), configured pass type is "pass.com.example.other": pass type identifier does not match the certificate UID
}

// Development credentials that survive restarts: made on first start,
// reused afterwards.
func ExampleLoadOrGenerateDev() {
	dir, err := os.MkdirTemp("", "passd-data-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first, err := passkit.LoadOrGenerateDev(dir, "pass.dev.passd", "DEVTEAM", now)
	if err != nil {
		log.Fatal(err)
	}
	again, err := passkit.LoadOrGenerateDev(dir, "pass.dev.passd", "DEVTEAM", now.Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.Certificate.Equal(again.Certificate), passkit.CertificatePassTypeID(again.Certificate))
	// Output: true pass.dev.passd
}

// A merchant uploads a 1x icon where the @2x one belongs; the error says
// which size is expected and maps to 422 invalid_image.
func ExampleCheckImage() {
	err := passkit.CheckImage("icon@2x", iconPNG(29))
	fmt.Println(errors.Is(err, passkit.ErrInvalidImage))
	fmt.Println(err)
	fmt.Println(passkit.CheckImage("icon@2x", iconPNG(58)))
	// Output:
	// true
	// invalid image "icon@2x": is 29x29 px; want a square of 58x58 px (29x29 pt at @2x) up to 76x76 px (38x38 pt)
	// <nil>
}
