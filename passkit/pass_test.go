package passkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func fullPass() *Pass {
	p := samplePass()
	alt := 12.5
	major, minor := uint16(0), uint16(7)
	p.SuppressStripShine = boolPtr(false)
	p.Barcodes = append(p.Barcodes,
		Barcode{Format: PKBarcodeFormatPDF417, Message: "MEMBER-123", MessageEncoding: "iso-8859-1"},
		Barcode{Format: PKBarcodeFormatAztec, Message: "MEMBER-123", MessageEncoding: "utf-8"},
		Barcode{Format: PKBarcodeFormatCode128, Message: "MEMBER-123", MessageEncoding: "iso-8859-1"},
	)
	p.Barcode = &Barcode{Format: PKBarcodeFormatQR, Message: "MEMBER-123", MessageEncoding: "iso-8859-1"}
	p.Locations = []Location{
		{Latitude: 0, Longitude: 0},
		{Latitude: 48.8566, Longitude: 2.3522, Altitude: &alt, RelevantText: "Café nearby"},
	}
	p.Beacons = []Beacon{{ProximityUUID: "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0", Major: &major, Minor: &minor, RelevantText: "At the counter"}}
	p.MaxDistance = 100
	p.RelevantDate = time.Date(2026, 5, 1, 9, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	p.ExpirationDate = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Voided = true
	p.SharingProhibited = true
	p.AssociatedStoreIdentifiers = []int64{284882215}
	p.AppLaunchURL = "examplecoffee://card/c0ffee-123"
	p.UserInfo = map[string]any{"member": "c0ffee-123", "tier": 2}
	p.GroupingIdentifier = "group-1"
	sc := p.StoreCard
	sc.HeaderFields[0].NumberStyle = PKNumberStyleDecimal
	sc.HeaderFields[0].TextAlignment = PKTextAlignmentRight
	sc.SecondaryFields = append(sc.SecondaryFields, Field{
		Key: "since", Label: "MEMBER SINCE", Value: DateValue(time.Date(2025, 12, 24, 18, 0, 0, 0, time.UTC)),
		DateStyle: PKDateStyleMedium, TimeStyle: PKDateStyleNone, IsRelative: true, IgnoresTimeZone: true,
	})
	sc.BackFields = append(sc.BackFields,
		Field{Key: "web", Label: "Website", Value: StringValue("https://example.com"),
			AttributedValue:   StringValue(`<a href="https://example.com">example.com</a>`),
			DataDetectorTypes: []DataDetectorType{PKDataDetectorTypeLink, PKDataDetectorTypePhoneNumber, PKDataDetectorTypeAddress, PKDataDetectorTypeCalendarEvent}},
		Field{Key: "news", Label: "Latest", Value: StringValue("Welcome"), ChangeMessage: "%@", DataDetectorTypes: []DataDetectorType{}},
	)
	sc.AdditionalInfoFields = []Field{{Key: "ratio", Value: FloatValue(0.25), NumberStyle: PKNumberStylePercent}}
	return p
}

func minimalPass() *Pass {
	return &Pass{
		FormatVersion:      1,
		PassTypeIdentifier: testPassTypeID,
		SerialNumber:       "1",
		TeamIdentifier:     testTeamID,
		OrganizationName:   "Example",
		Description:        "Example loyalty card",
		StoreCard:          &Fields{},
	}
}

func TestMarshalGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pass *Pass
	}{
		{"storecard", samplePass()},
		{"storecard_full", fullPass()},
		{"storecard_minimal", minimalPass()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.pass.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			got, err := MarshalPass(tc.pass)
			if err != nil {
				t.Fatalf("MarshalPass() error = %v", err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, got, "", "  "); err != nil {
				t.Fatalf("json.Indent: %v", err)
			}
			indented.WriteByte('\n')
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), indented.String()); diff != "" {
				t.Errorf("MarshalPass(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}

			// Round trip: what we write, we read back unchanged.
			var back Pass
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("json.Unmarshal(MarshalPass()) error = %v", err)
			}
			again, err := MarshalPass(&back)
			if err != nil {
				t.Fatalf("MarshalPass(round trip) error = %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("round trip changed pass.json:\n got %s\nwant %s", again, got)
			}
		})
	}
}

func TestMarshalTypes(t *testing.T) {
	t.Parallel()
	got, err := MarshalPass(fullPass())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["formatVersion"].(float64); !ok || v != 1 {
		t.Errorf("formatVersion = %#v, want number 1", m["formatVersion"])
	}
	if v, ok := m["suppressStripShine"].(bool); !ok || v {
		t.Errorf("suppressStripShine = %#v, want false (pointer keeps an explicit false)", m["suppressStripShine"])
	}
	sc := m["storeCard"].(map[string]any)
	points := sc["headerFields"].([]any)[0].(map[string]any)["value"]
	if _, ok := points.(float64); !ok {
		t.Errorf("headerFields[0].value = %#v, want a JSON number", points)
	}
	back := sc["backFields"].([]any)
	if dd, ok := back[2].(map[string]any)["dataDetectorTypes"].([]any); !ok || len(dd) != 0 {
		t.Errorf("backFields[2].dataDetectorTypes = %#v, want [] (explicitly off)", back[2].(map[string]any)["dataDetectorTypes"])
	}
	if _, ok := back[0].(map[string]any)["dataDetectorTypes"]; ok {
		t.Errorf("backFields[0] has dataDetectorTypes, want it omitted when nil")
	}
	if !strings.Contains(string(got), `"attributedValue":"<a href=\"https://example.com\">`) {
		t.Errorf("attributedValue was HTML-escaped: %s", got)
	}

	// Empty optional keys are left out entirely.
	min, err := MarshalPass(minimalPass())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"formatVersion":1,"passTypeIdentifier":"pass.com.example.loyalty","serialNumber":"1","teamIdentifier":"ABCDE12345","organizationName":"Example","description":"Example loyalty card","storeCard":{}}`
	if string(min) != want {
		t.Errorf("MarshalPass(minimal) = %s, want %s", min, want)
	}
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		v    Value
		json string
	}{
		{"string", StringValue(`say "hi" ✓`), `"say \"hi\" ✓"`},
		{"int", IntValue(-42), `-42`},
		{"big int", IntValue(math.MaxInt64), `9223372036854775807`},
		{"float", FloatValue(12.5), `12.5`},
		{"date", DateValue(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), `"2026-01-02T03:04:05Z"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.v)
			if err != nil || string(got) != tc.json {
				t.Fatalf("json.Marshal(%v) = %s, %v, want %s", tc.v, got, err, tc.json)
			}
			var back Value
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) error = %v", got, err)
			}
			if back != tc.v {
				t.Errorf("round trip of %s = %#v, want %#v", got, back, tc.v)
			}
		})
	}
	if _, err := json.Marshal(FloatValue(math.NaN())); err == nil {
		t.Errorf("json.Marshal(NaN) error = nil, want an error")
	}
	var v Value
	if err := json.Unmarshal([]byte(`true`), &v); err == nil {
		t.Errorf("json.Unmarshal(true) error = nil, want an error")
	}
}

func TestRGB(t *testing.T) {
	t.Parallel()
	if got := RGB(23, 187, 82); got != "rgb(23, 187, 82)" {
		t.Errorf("RGB(23, 187, 82) = %q, want %q", got, "rgb(23, 187, 82)")
	}
	for _, s := range []string{"rgb(0,0,0)", " rgb( 255 , 255 , 255 ) ", "rgb(1, 2, 3)"} {
		if _, ok := parseRGB(s); !ok {
			t.Errorf("parseRGB(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"#ffffff", "rgb(256, 0, 0)", "rgb(1, 2)", "rgba(1, 2, 3, 4)", "rgb(-1, 2, 3)", "rgb(1, 2, 3", "rgb(+1, 2, 3)", "rgb(0001, 2, 3)"} {
		if _, ok := parseRGB(s); ok {
			t.Errorf("parseRGB(%q) = true, want false", s)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(p *Pass)
		want   string // a fragment of one problem; "" means valid
	}{
		{"sample is valid", func(*Pass) {}, ""},
		{"format version", func(p *Pass) { p.FormatVersion = 2 }, "formatVersion must be 1"},
		{"no serial", func(p *Pass) { p.SerialNumber = "" }, "serialNumber is required"},
		{"no team", func(p *Pass) { p.TeamIdentifier = "" }, "teamIdentifier is required"},
		{"no organization", func(p *Pass) { p.OrganizationName = " " }, "organizationName is required"},
		{"no description", func(p *Pass) { p.Description = "" }, "description is required"},
		{"no pass type", func(p *Pass) { p.PassTypeIdentifier = "" }, "passTypeIdentifier is required"},
		{"pass type prefix", func(p *Pass) { p.PassTypeIdentifier = "com.example" }, `must start with "pass."`},
		{"no style", func(p *Pass) { p.StoreCard = nil }, "exactly one style key"},
		{"two styles", func(p *Pass) { p.Generic = &Fields{} }, "got 2"},
		{"hex colour", func(p *Pass) { p.BackgroundColor = "#3c414c" }, "backgroundColor"},
		{"colour range", func(p *Pass) { p.LabelColor = "rgb(300, 0, 0)" }, "labelColor"},
		{"http web service", func(p *Pass) { p.WebServiceURL = "http://wallet.example.com/passkit" }, "must use https"},
		{"http localhost ok", func(p *Pass) { p.WebServiceURL = "http://localhost:8080/passkit" }, ""},
		{"http loopback ok", func(p *Pass) { p.WebServiceURL = "http://127.0.0.1:8080/passkit" }, ""},
		{"relative web service", func(p *Pass) { p.WebServiceURL = "/passkit" }, "must be absolute"},
		{"ftp web service", func(p *Pass) { p.WebServiceURL = "ftp://example.com" }, "must use https"},
		{"short token", func(p *Pass) { p.AuthenticationToken = "short" }, "at least 16 characters"},
		{"no token", func(p *Pass) { p.AuthenticationToken = "" }, "at least 16 characters"},
		{"token without url ok", func(p *Pass) { p.WebServiceURL = "" }, ""},
		{"barcode format", func(p *Pass) { p.Barcodes[0].Format = "QR" }, "not a known barcode format"},
		{"barcode message", func(p *Pass) { p.Barcodes[0].Message = "" }, "message is required"},
		{"barcode encoding", func(p *Pass) { p.Barcodes[0].MessageEncoding = "" }, "messageEncoding is required"},
		{"legacy code128", func(p *Pass) {
			p.Barcode = &Barcode{Format: PKBarcodeFormatCode128, Message: "x", MessageEncoding: "iso-8859-1"}
		}, "not supported by the deprecated barcode key"},
		{"duplicate key", func(p *Pass) { p.StoreCard.BackFields[0].Key = "points" }, `"points" is used by another field`},
		{"empty key", func(p *Pass) { p.StoreCard.BackFields[0].Key = "" }, "key is required"},
		{"no value", func(p *Pass) { p.StoreCard.BackFields[0].Value = Value{} }, "value is required"},
		{"NaN value", func(p *Pass) { p.StoreCard.BackFields[0].Value = FloatValue(math.NaN()) }, "not a finite number"},
		{"change message", func(p *Pass) { p.StoreCard.HeaderFields[0].ChangeMessage = "Points changed" }, "must contain %@"},
		{"currency on text", func(p *Pass) { p.StoreCard.SecondaryFields[0].CurrencyCode = "EUR" }, "currencyCode needs a numeric value"},
		{"currency code", func(p *Pass) { p.StoreCard.PrimaryFields[0].CurrencyCode = "euro" }, "not an ISO 4217 code"},
		{"number style on text", func(p *Pass) { p.StoreCard.SecondaryFields[0].NumberStyle = PKNumberStyleDecimal }, "numberStyle needs a numeric value"},
		{"alignment on primary", func(p *Pass) { p.StoreCard.PrimaryFields[0].TextAlignment = PKTextAlignmentLeft }, "textAlignment is not allowed on primaryFields"},
		{"alignment on back", func(p *Pass) { p.StoreCard.BackFields[0].TextAlignment = PKTextAlignmentLeft }, "textAlignment is not allowed on backFields"},
		{"unknown date style", func(p *Pass) { p.StoreCard.SecondaryFields[0].DateStyle = "short" }, "not a known date style"},
		{"detectors on front", func(p *Pass) { p.StoreCard.SecondaryFields[0].DataDetectorTypes = []DataDetectorType{} }, "back fields only"},
		{"too many header fields", func(p *Pass) {
			p.StoreCard.HeaderFields = append(p.StoreCard.HeaderFields,
				Field{Key: "h2", Value: IntValue(1)}, Field{Key: "h3", Value: IntValue(1)}, Field{Key: "h4", Value: IntValue(1)})
		}, "headerFields has 4 fields, at most 3"},
		{"two primary fields", func(p *Pass) {
			p.StoreCard.PrimaryFields = append(p.StoreCard.PrimaryFields, Field{Key: "p2", Value: IntValue(1)})
		}, "primaryFields has 2 fields, at most 1"},
		{"invalid utf-8", func(p *Pass) { p.StoreCard.BackFields[0].Value = StringValue("bad \xff") }, "not valid UTF-8"},
		{"latitude", func(p *Pass) { p.Locations = []Location{{Latitude: 91}} }, "latitude 91 is out of range"},
		{"too many locations", func(p *Pass) { p.Locations = make([]Location, 11) }, "at most 10"},
		{"beacon uuid", func(p *Pass) { p.Beacons = []Beacon{{ProximityUUID: "not-a-uuid"}} }, "is not a UUID"},
		{"max distance", func(p *Pass) { p.MaxDistance = -1 }, "maxDistance"},
		{"app launch url", func(p *Pass) { p.AppLaunchURL = "x://y" }, "appLaunchURL needs associatedStoreIdentifiers"},
		{"user info", func(p *Pass) { p.UserInfo = map[string]any{"f": func() {}} }, "userInfo cannot be encoded"},
		{"boarding pass transit", func(p *Pass) { p.BoardingPass, p.StoreCard = &Fields{}, nil }, "transitType is required"},
		{"transit type on store card", func(p *Pass) { p.StoreCard.TransitType = PKTransitTypeAir }, "boarding passes only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := samplePass()
			tc.change(p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want a problem containing %q", tc.want)
			}
			if !errors.Is(err, ErrInvalidPass) {
				t.Errorf("errors.Is(Validate(), ErrInvalidPass) = false for %v", err)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %T, want *ValidationError", err)
			}
			found := false
			for _, pr := range verr.Problems {
				if strings.Contains(pr, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate() problems = %q, want one containing %q", verr.Problems, tc.want)
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	t.Parallel()
	p := &Pass{StoreCard: &Fields{}, BackgroundColor: "red", WebServiceURL: "https://x.example", AuthenticationToken: "x"}
	var verr *ValidationError
	if !errors.As(p.Validate(), &verr) {
		t.Fatalf("Validate() did not return a *ValidationError")
	}
	// formatVersion, passTypeIdentifier, serialNumber, teamIdentifier,
	// organizationName, description, backgroundColor, authenticationToken.
	if len(verr.Problems) != 8 {
		t.Errorf("Validate() gave %d problems, want 8: %q", len(verr.Problems), verr.Problems)
	}
}
