package googlewallet_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

// demoStrings are the label lines of a template's en.lproj and fr.lproj
// pass.strings, as language -> key -> text.
func demoStrings() map[string]map[string]string {
	return map[string]map[string]string{
		"en": {
			"points_label": "POINTS", "tier_label": "TIER", "member_label": "MEMBER",
			"message_label": "MESSAGE", "terms_label": "TERMS", "Gold": "Gold",
		},
		"fr": {
			"points_label": "POINTS", "tier_label": "NIVEAU", "member_label": "MEMBRE",
			"message_label": "MESSAGE", "terms_label": "CONDITIONS", "Gold": "Or",
		},
	}
}

func TestLabelsFromStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tables map[string]map[string]string
		want   googlewallet.Labels
	}{
		{"none", nil, googlewallet.Labels{}},
		{"demo", demoStrings(), googlewallet.Labels{
			Points:  map[string]string{"en": "POINTS", "fr": "POINTS"},
			Tier:    map[string]string{"en": "TIER", "fr": "NIVEAU"},
			Terms:   map[string]string{"en": "TERMS", "fr": "CONDITIONS"},
			Message: map[string]string{"en": "MESSAGE", "fr": "MESSAGE"},
		}},
		{"one language lacks a key", map[string]map[string]string{
			"en": {"tier_label": "Tier"},
			"de": {"tier_label": "Stufe", "points_label": "Punkte"},
			"fr": {"tier_label": ""},
		}, googlewallet.Labels{
			Points: map[string]string{"de": "Punkte"},
			Tier:   map[string]string{"en": "Tier", "de": "Stufe"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := googlewallet.LabelsFromStrings(tc.tables)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LabelsFromStrings() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLabelsGolden renders the class and an object of an English program
// whose template also has French labels: every label and header carries
// its French translation.
func TestLabelsGolden(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	labels := googlewallet.LabelsFromStrings(demoStrings())
	p := testProgram()
	p.Terms["fr"] = "Les points expirent après 12 mois."
	p.Labels = labels
	if err := e.c.UpsertClass(t.Context(), p); err != nil {
		t.Fatalf("UpsertClass() = %v", err)
	}
	reqs := e.seen()
	if got, want := methods(reqs), []string{"GET loyaltyClass/" + classID, "POST loyaltyClass"}; !slices.Equal(got, want) {
		t.Fatalf("UpsertClass() requests = %q, want %q", got, want)
	}
	golden(t, "class_labels_fr.golden.json", reqs[1].Body)

	card := testCard("m-0001")
	card.Language = "en"
	card.Labels = labels
	card.Message = &googlewallet.Message{ID: "message", Header: "Message", Body: "Double points this week."}
	if err := e.c.InsertObject(t.Context(), card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	reqs = e.seen()
	if got, want := methods(reqs), []string{"POST loyaltyObject"}; !slices.Equal(got, want) {
		t.Fatalf("InsertObject() requests = %q, want %q", got, want)
	}
	golden(t, "object_labels_fr.golden.json", reqs[0].Body)

	// The same class again is no change; new label texts are.
	if err := e.c.UpsertClass(t.Context(), p); err != nil {
		t.Fatalf("UpsertClass(unchanged) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Errorf("UpsertClass(unchanged) requests = %q, want %q", got, want)
	}
	p.Labels.Terms = map[string]string{"en": "TERMS", "fr": "RÈGLES"}
	if err := e.c.UpsertClass(t.Context(), p); err != nil {
		t.Fatalf("UpsertClass(new terms label) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyClass/" + classID, "PUT loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Errorf("UpsertClass(new terms label) requests = %q, want %q", got, want)
	}
}

// TestLabelsDefaultLanguage covers a French-first program: the label is
// the French text and the other languages are its translations; a label
// no language translates keeps its built-in text.
func TestLabelsDefaultLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	card := testCard("m-0002")
	card.Language = "fr"
	card.Labels = googlewallet.Labels{
		Tier:    map[string]string{"en": "TIER", "fr": "NIVEAU"},
		Message: map[string]string{"fr": "MESSAGE DU JOUR"},
	}
	card.Message = &googlewallet.Message{Header: "Message", Body: "Bonjour"}
	if err := e.c.InsertObject(t.Context(), card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	obj := e.fake.Object(wallettest.IssuerID + ".m-0002")
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"loyaltyPoints", "label"}, "Points"},
		{[]any{"loyaltyPoints", "localizedLabel"}, nil},
		{[]any{"secondaryLoyaltyPoints", "label"}, "NIVEAU"},
		{[]any{"secondaryLoyaltyPoints", "localizedLabel", "defaultValue", "language"}, "fr"},
		{[]any{"secondaryLoyaltyPoints", "localizedLabel", "defaultValue", "value"}, "NIVEAU"},
		{[]any{"secondaryLoyaltyPoints", "localizedLabel", "translatedValues", 0, "language"}, "en"},
		{[]any{"secondaryLoyaltyPoints", "localizedLabel", "translatedValues", 0, "value"}, "TIER"},
		{[]any{"textModulesData", 0, "header"}, "MESSAGE DU JOUR"},
		{[]any{"textModulesData", 0, "localizedHeader", "defaultValue", "value"}, "MESSAGE DU JOUR"},
		{[]any{"textModulesData", 0, "localizedHeader", "translatedValues"}, nil},
	} {
		if got := dig(obj, c.path...); got != c.want {
			t.Errorf("object %v = %v, want %v", c.path, got, c.want)
		}
	}
}

// TestPatchObjectDropsLabels patches a card whose labels were translated
// with a card whose labels are not: the translations must not stay on the
// stored object.
func TestPatchObjectDropsLabels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	id := wallettest.IssuerID + ".m-0003"
	card := testCard("m-0003")
	card.Labels = googlewallet.LabelsFromStrings(demoStrings())
	if err := e.c.InsertObject(t.Context(), card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	if got := dig(e.fake.Object(id), "loyaltyPoints", "localizedLabel", "translatedValues", 0, "language"); got != "fr" {
		t.Fatalf("inserted points localizedLabel translation = %v, want fr", got)
	}
	e.seen()
	card.Labels = googlewallet.Labels{}
	if err := e.c.PatchObject(t.Context(), card); err != nil {
		t.Fatalf("PatchObject() = %v", err)
	}
	sent := body(t, e.seen()[0])
	for _, field := range []string{"loyaltyPoints", "secondaryLoyaltyPoints"} {
		lp, _ := sent[field].(map[string]any)
		if v, ok := lp["localizedLabel"]; !ok || v != nil {
			t.Errorf("patch %s.localizedLabel = %v (present %t), want null", field, v, ok)
		}
		if got := dig(lp, "label"); got != map[string]string{"loyaltyPoints": "Points", "secondaryLoyaltyPoints": "Tier"}[field] {
			t.Errorf("patch %s.label = %v, want the built-in label", field, got)
		}
	}
}

// A card's own banner (a tier's strip) is set on the object, and a later
// patch without one sends null so the class's banner shows again.
func TestObjectHeroImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	id := wallettest.IssuerID + ".m-0004"
	card := testCard("m-0004")
	card.HeroURL = "https://passd.example/programs/demo/hero-1.png?v=abc"
	if err := e.c.InsertObject(t.Context(), card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	if got := dig(e.fake.Object(id), "heroImage", "sourceUri", "uri"); got != card.HeroURL {
		t.Fatalf("inserted heroImage = %v, want %s", got, card.HeroURL)
	}
	e.seen()
	card.HeroURL = ""
	if err := e.c.PatchObject(t.Context(), card); err != nil {
		t.Fatalf("PatchObject() = %v", err)
	}
	sent := body(t, e.seen()[0])
	if v, ok := sent["heroImage"]; !ok || v != nil {
		t.Errorf("patch heroImage = %v (present %t), want null", v, ok)
	}
	card.HeroURL = "http://passd.example/hero.png"
	if err := e.c.PatchObject(t.Context(), card); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("PatchObject(http hero) = %v, want ErrInvalid", err)
	}
}

// TestObjectModules: the card's extra text modules follow its message, and
// a patch without them sends the modules whole, so they are removed.
func TestObjectModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	id := wallettest.IssuerID + ".m-0005"
	card := testCard("m-0005")
	card.Message = &googlewallet.Message{ID: "message", Header: "Message", Body: "Hello"}
	card.Modules = []googlewallet.Message{{ID: "vouchers", Header: "1 reward ready", Body: "ABCDEFGH23 - Free coffee"}}
	if err := e.c.InsertObject(t.Context(), card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	mods, _ := dig(e.fake.Object(id), "textModulesData").([]any)
	if len(mods) != 2 || dig(mods[1], "id") != "vouchers" || dig(mods[1], "header") != "1 reward ready" || dig(mods[1], "body") != "ABCDEFGH23 - Free coffee" {
		t.Fatalf("inserted textModulesData = %v, want the message then the vouchers", mods)
	}
	e.seen()
	card.Modules = nil
	if err := e.c.PatchObject(t.Context(), card); err != nil {
		t.Fatalf("PatchObject() = %v", err)
	}
	sent, _ := body(t, e.seen()[0])["textModulesData"].([]any)
	if len(sent) != 1 || dig(sent[0], "id") != "message" {
		t.Errorf("patch textModulesData = %v, want the message only", sent)
	}
}
