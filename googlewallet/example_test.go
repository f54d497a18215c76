package googlewallet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/passd/passd/googlewallet"
)

func ExampleNew() {
	ctx := context.Background()
	cfg, enabled, err := googlewallet.ConfigFromEnvValues(
		os.Getenv("PASSD_GOOGLE_ISSUER_ID"),
		os.Getenv("PASSD_GOOGLE_CREDENTIALS"),
		os.Getenv("PASSD_GOOGLE_API_URL"),
	)
	if err != nil {
		log.Fatal(err)
	}
	if !enabled {
		return // Google Wallet is off
	}
	cfg.Logger = slog.Default()
	wallet, err := googlewallet.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	_ = wallet
}

func ExampleClient_UpsertClass() {
	var wallet *googlewallet.Client // from googlewallet.New
	err := wallet.UpsertClass(context.Background(), googlewallet.Program{
		ID:              "coffee",
		Name:            "Bean Points",
		IssuerName:      "Bean There",
		LogoURL:         "https://cdn.example.com/coffee/logo.png",
		BackgroundColor: "#3b2f2f",
		Names:           map[string]string{"de": "Bohnenpunkte"},
		Terms:           map[string]string{"en": "Points expire after a year."},
	})
	if err != nil {
		log.Print(err)
	}
}

func ExampleClient_InsertObject() {
	var wallet *googlewallet.Client // from googlewallet.New
	ctx := context.Background()
	card := googlewallet.Card{
		MemberID:    "0b6f3c7e",
		ProgramID:   "coffee",
		AccountName: "Ada Lovelace",
		AccountID:   "100-200-300",
		Barcode:     "v1.0b6f3c7e.mac",
		Points:      0,
		Tier:        "Bronze",
	}
	if err := wallet.InsertObject(ctx, card); err != nil {
		log.Print(err)
		return
	}
	link, err := wallet.SaveURL([]string{wallet.ObjectID(card.MemberID)}, []string{"https://passd.example.com"})
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Println(link)
}

func ExampleClient_SaveURL() {
	var wallet *googlewallet.Client // from googlewallet.New
	// The object must exist already (InsertObject): the link only refers
	// to it by id.
	link, err := wallet.SaveURL([]string{wallet.ObjectID("0b6f3c7e")}, []string{"https://passd.example.com"})
	if errors.Is(err, googlewallet.ErrSaveURLTooLong) {
		log.Print("too many objects for one link")
		return
	}
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Println(link) // https://pay.google.com/gp/v/save/eyJ...
}

func ExampleIsRetryable() {
	err := fmt.Errorf("sync member: %w", googlewallet.ErrNotFound)
	fmt.Println(googlewallet.IsRetryable(err), errors.Is(err, googlewallet.ErrNotFound))
	// Output: false true
}

func ExampleClient_PatchObject() {
	var wallet *googlewallet.Client // from googlewallet.New
	ctx := context.Background()
	var lastNotified []time.Time // kept per card by the caller
	card := googlewallet.Card{
		MemberID: "0b6f3c7e", ProgramID: "coffee", AccountID: "100-200-300",
		Barcode: "v1.0b6f3c7e.mac", Points: 150, Tier: "Silver",
	}
	card.Notify = googlewallet.NotifyAllowed(lastNotified, time.Now())
	err := wallet.PatchObject(ctx, card)
	switch {
	case err == nil:
	case googlewallet.IsRetryable(err):
		// leave the card dirty; the sync engine tries again later
	default:
		log.Print(err)
	}
}

func ExampleClient_AddMessage() {
	var wallet *googlewallet.Client // from googlewallet.New
	var lastNotified []time.Time    // kept per card by the caller
	now := time.Now()
	notify := googlewallet.NotifyAllowed(lastNotified, now)
	err := wallet.AddMessage(context.Background(), wallet.ObjectID("0b6f3c7e"), googlewallet.Message{
		ID:     "tier-silver",
		Header: "You reached Silver",
		Body:   "Enjoy a free upgrade on every visit.",
	}, notify)
	if err == nil && notify {
		lastNotified = append(lastNotified, now)
	}
	_ = lastNotified
}

func ExampleClient_Retire() {
	var wallet *googlewallet.Client // from googlewallet.New
	if err := wallet.Retire(context.Background(), wallet.ObjectID("0b6f3c7e")); err != nil {
		log.Print(err)
	}
}

func ExampleObjectID() {
	fmt.Println(googlewallet.ClassID("3388000000022000000", "coffee"))
	fmt.Println(googlewallet.ObjectID("3388000000022000000", "0b6f3c7e-5a1d"))
	fmt.Println(googlewallet.ObjectID("3388000000022000000", "ada@example.com"))
	// Output:
	// 3388000000022000000.coffee
	// 3388000000022000000.0b6f3c7e-5a1d
	// 3388000000022000000.ada_example.com-b5fc85e5
}

func ExampleNotifyAllowed() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sent := []time.Time{now.Add(-20 * time.Hour), now.Add(-2 * time.Hour)}
	fmt.Println(googlewallet.NotifyAllowed(sent, now))
	sent = append(sent, now.Add(-time.Hour))
	fmt.Println(googlewallet.NotifyAllowed(sent, now))
	// Output:
	// true
	// false
}

// The labels of a card come from the template's pass.strings files, one
// table per language.
func ExampleLabelsFromStrings() {
	labels := googlewallet.LabelsFromStrings(map[string]map[string]string{
		"en": {"points_label": "POINTS", "tier_label": "TIER"},
		"fr": {"points_label": "POINTS", "tier_label": "NIVEAU"},
	})
	fmt.Println(labels.Tier["fr"], labels.Terms == nil)
	card := googlewallet.Card{MemberID: "0b6f3c7e", Language: "en", Labels: labels /* ... */}
	_ = card
	// Output: NIVEAU true
}

// A wide banner uploaded as the square logo is refused with a sentence for
// the merchant.
func ExampleCheckSquareLogo() {
	var wide bytes.Buffer
	if err := png.Encode(&wide, image.NewGray(image.Rect(0, 0, 1280, 400))); err != nil {
		log.Fatal(err)
	}
	err := googlewallet.CheckSquareLogo(wide.Bytes())
	fmt.Println(errors.Is(err, googlewallet.ErrInvalidImage))
	fmt.Println(err)
	// Output:
	// true
	// googlewallet: invalid image: square logo is 1280x400 px; want a square of 660x660 px up to 1980x1980 px
}

func ExampleCallbackVerifier() {
	verifier, err := googlewallet.NewCallbackVerifier(googlewallet.CallbackConfig{
		IssuerID: os.Getenv("PASSD_GOOGLE_ISSUER_ID"),
		// KeysURL empty: Google's published root keys.
	})
	if err != nil {
		log.Fatal(err)
	}
	var body []byte // the POST body Google sent to the class's callback URL
	cb, err := verifier.Verify(context.Background(), body)
	switch {
	case errors.Is(err, googlewallet.ErrCallbackInvalid):
		// Not from Google, altered or expired: answer 400 and change nothing.
	case errors.Is(err, googlewallet.ErrCallbackKeys):
		// Google's keys are unreachable: answer 503 so Google retries.
	case err == nil:
		fmt.Println(cb.EventType, cb.ObjectID) // deduplicate on cb.Nonce
	}
}
