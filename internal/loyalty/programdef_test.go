package loyalty

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/templates"
)

// fullDef is a valid definition with every rule block.
const fullDef = `{"id":"corner-cafe","name":"Corner Café","organization_name":"Corner Ltd",
 "description":"Corner Café card",
 "colors":{"background":"#101010","foreground":"#fafafa","label":"#c0c0c0"},"currency":"EUR",
 "earn":{"points_per_unit":5},
 "tiers":[{"name":"Bronze","threshold":0},
  {"name":"Silver","threshold":1000,"benefits":"Free refill","colors":{"background":"#c0c0c0"}},
  {"name":"Gold","threshold":5000,"colors":{"background":"#d4af37","foreground":"#000000","label":"#333333"}}],
 "tier_window":"rolling_365_days","timezone":"Europe/Paris",
 "expiry":{"after_days":365,"remind_days":30},
 "stamps":{"goal":10,"reward_id":"free-coffee"},
 "cashback":{"rate_bp":150},
 "welcome_bonus":100,"birthday_bonus":250,
 "referral":{"referrer_points":200,"referee_points":100},
 "dormant":{"after_days":60,"message":"We miss you!","bonus_points":50},
 "locations":[{"latitude":48.8566,"longitude":2.3522,"relevant_text":"Corner Café is near"}],
 "default_locale":"en","locales":{"en":{"program_name":"Corner Café"},"fr":{"program_name":"Café du coin"}}}`

// fieldNames answers the fields a *balances.ValidationError names, in order.
func fieldNames(t *testing.T, err error) []string {
	t.Helper()
	var ve *balances.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a *balances.ValidationError", err)
	}
	names := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		names[i] = f.Field
	}
	return names
}

// patched answers fullDef under a merge patch.
func patched(t *testing.T, patch string) []byte {
	t.Helper()
	b, err := MergePatch([]byte(fullDef), []byte(patch))
	if err != nil {
		t.Fatalf("MergePatch(fullDef, %s) = %v", patch, err)
	}
	return b
}

func TestNewProgramFromJSON(t *testing.T) {
	t.Parallel()
	p, err := NewProgramFromJSON([]byte(fullDef))
	if err != nil {
		t.Fatalf("NewProgramFromJSON(fullDef) = %v", err)
	}
	if p.Earn.MinorPerUnit != 100 || p.Barcode != BarcodeQR || p.TierWindow != TierWindowRolling365 {
		t.Errorf("defaults = %d %q %q, want 100 qr rolling_365_days", p.Earn.MinorPerUnit, p.Barcode, p.TierWindow)
	}
	if p.Expiry == nil || p.Expiry.RemindDays != 30 || p.Stamps.RewardID != "free-coffee" || p.Cashback.RateBP != 150 ||
		p.WelcomeBonus != 100 || p.BirthdayBonus != 250 || p.Referral.RefereePoints != 100 || p.Dormant.BonusPoints != 50 ||
		len(p.Locations) != 1 || p.Locations[0].Longitude != 2.3522 || p.Tiers[1].Benefits != "Free refill" {
		t.Errorf("NewProgramFromJSON(fullDef) = %+v, want every rule block read", p)
	}
	if got := p.Location().String(); got != "Europe/Paris" {
		t.Errorf("Location() = %s, want Europe/Paris", got)
	}
	if got := p.Rules().TierFor(1500); got != "Silver" {
		t.Errorf("Rules().TierFor(1500) = %s, want Silver", got)
	}

	minimal, err := NewProgramFromJSON([]byte(goodDef))
	if err != nil {
		t.Fatalf("NewProgramFromJSON(goodDef) = %v", err)
	}
	if minimal.Timezone != "UTC" || minimal.Location() != time.UTC || minimal.TierWindow != TierWindowLifetime ||
		minimal.Expiry != nil || minimal.Stamps != nil || minimal.Locations != nil {
		t.Errorf("NewProgramFromJSON(goodDef) = %+v, want UTC, lifetime and no rule blocks", minimal)
	}
	def, err := minimal.Definition()
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"expiry", "stamps", "cashback", "welcome_bonus", "referral", "dormant", "locations", "version", "created_at", "benefits", `"colors":{}`} {
		if strings.Contains(string(def), absent) {
			t.Errorf("Definition() = %s, holds %s", def, absent)
		}
	}
}

func TestNewProgramFromJSONNamesEveryInvalidField(t *testing.T) {
	t.Parallel()
	tenPlaces := strings.Repeat(`{"latitude":1,"longitude":1,"relevant_text":"here"},`, 10)
	for name, tc := range map[string]struct {
		patch string
		want  []string
	}{
		"template-style id":   {`{"id":"corner_cafe"}`, []string{"id"}},
		"one-letter id":       {`{"id":"c"}`, []string{"id"}},
		"id with capital":     {`{"id":"Corner"}`, []string{"id"}},
		"blank name":          {`{"name":"  "}`, []string{"name"}},
		"control in name":     {`{"name":"Corner\u0007"}`, []string{"name"}},
		"C1 control":          {`{"organization_name":"Corner\u0085"}`, []string{"organization_name"}},
		"long description":    {`{"description":"` + strings.Repeat("é", MaxShortTextLen+1) + `"}`, []string{"description"}},
		"lower-case currency": {`{"currency":"eur"}`, []string{"currency"}},
		"minor per unit":      {`{"earn":{"minor_per_unit":100000}}`, []string{"earn.minor_per_unit"}},
		"locale texts": {`{"locales":{"fr":{"program_name":"","terms":"line\nbreak","how_it_works":"` + strings.Repeat("x", MaxHowItWorksLen+1) + `"}}}`,
			[]string{"locales.fr.program_name", "locales.fr.how_it_works", "locales.fr.terms"}},
		"tier texts": {`{"tiers":[{"name":"Bronze","threshold":0,"benefits":"tab\there"},{"name":"Sil\u0000ver","threshold":10}]}`,
			[]string{"tiers[0].benefits", "tiers[1].name"}},
		"tier name too long": {`{"tiers":[{"name":"` + strings.Repeat("B", MaxTierNameLen+1) + `","threshold":0}]}`, []string{"tiers[0].name"}},
		"tier threshold":     {`{"tiers":[{"name":"Bronze","threshold":0},{"name":"Top","threshold":1000000000001}]}`, []string{"tiers[1].threshold"}},
		"tier colours": {`{"tiers":[{"name":"Bronze","threshold":0,"colors":{"background":"red"}},{"name":"Silver","threshold":10,"colors":{"foreground":"#fff","label":"#12345g"}}]}`,
			[]string{"tiers[0].colors.background", "tiers[1].colors.foreground", "tiers[1].colors.label"}},
		"unknown zone":    {`{"timezone":"Mars/Olympus_Mons"}`, []string{"timezone"}},
		"host zone":       {`{"timezone":"Local"}`, []string{"timezone"}},
		"zone path":       {`{"timezone":"../../etc/passwd"}`, []string{"timezone"}},
		"tier window":     {`{"tier_window":"weekly"}`, []string{"tier_window"}},
		"expiry":          {`{"expiry":{"after_days":3651,"remind_days":-1}}`, []string{"expiry.after_days", "expiry.remind_days"}},
		"remind too late": {`{"expiry":{"after_days":30,"remind_days":30}}`, []string{"expiry.remind_days"}},
		"stamps":          {`{"stamps":{"goal":101,"reward_id":"free coffee"}}`, []string{"stamps.goal", "stamps.reward_id"}},
		"no stamp reward": {`{"stamps":{"goal":0,"reward_id":null}}`, []string{"stamps.goal", "stamps.reward_id"}},
		"cashback zero":   {`{"cashback":{"rate_bp":0}}`, []string{"cashback.rate_bp"}},
		"cashback over":   {`{"cashback":{"rate_bp":10001}}`, []string{"cashback.rate_bp"}},
		"bonuses":         {`{"welcome_bonus":-1,"birthday_bonus":1000000001}`, []string{"welcome_bonus", "birthday_bonus"}},
		"referral":        {`{"referral":{"referrer_points":-5,"referee_points":1000000001}}`, []string{"referral.referrer_points", "referral.referee_points"}},
		"empty referral":  {`{"referral":{"referrer_points":0,"referee_points":0}}`, []string{"referral"}},
		"dormant": {`{"dormant":{"after_days":0,"message":"","bonus_points":-1}}`,
			[]string{"dormant.after_days", "dormant.message", "dormant.bonus_points"}},
		"dormant message": {`{"dormant":{"message":"` + strings.Repeat("m", MaxShortTextLen+1) + `"}}`, []string{"dormant.message"}},
		"places": {`{"locations":[{"latitude":48,"longitude":2,"relevant_text":"ok"},{"latitude":90.5,"longitude":-180.5,"relevant_text":"` + strings.Repeat("r", MaxRelevantTextLen+1) + `"},{"latitude":-91,"longitude":181,"relevant_text":"a\u001bb"}]}`,
			[]string{"locations[1].latitude", "locations[1].longitude", "locations[1].relevant_text", "locations[2].latitude", "locations[2].longitude", "locations[2].relevant_text"}},
		"too many places": {`{"locations":[` + tenPlaces + `{"latitude":1,"longitude":1,"relevant_text":"here"}]}`, []string{"locations"}},
		"missing coordinates": {`{"locations":[{"relevant_text":"here"},{"latitude":0,"longitude":null,"relevant_text":"equator"}]}`,
			[]string{"locations[0].latitude", "locations[0].longitude", "locations[1].longitude"}},
		"unknown fields": {`{"descripton":"x","expiry":{"after_days":60,"remindDays":3},"tiers":[{"name":"Bronze","threshold":0,"colour":"#000000"}]}`,
			[]string{"descripton", "expiry.remindDays", "tiers[0].colour"}},
		"names are case-sensitive": {`{"Name":"Other"}`, []string{"Name"}},
		"wrong types": {`{"name":5,"welcome_bonus":"ten","stamps":{"goal":2.5,"reward_id":"r"},"locations":{"latitude":1},"allow_manual_entry":"yes","tiers":[{"name":"Bronze","threshold":0},{"name":"Silver","threshold":"1000"}]}`,
			[]string{"allow_manual_entry", "locations", "name", "stamps.goal", "tiers[1].threshold", "welcome_bonus"}},
		"wrong element type": {`{"tiers":[{"name":"Bronze","threshold":0},"Silver"],"locales":{"en":"English"}}`,
			[]string{"locales.en", "tiers[1]", "default_locale"}},
		"integer overflow": {`{"welcome_bonus":9223372036854775808}`, []string{"welcome_bonus"}},
		"many at once": {`{"id":"X","name":"","colors":{"label":"#fff"},"tiers":[{"name":"Bronze","threshold":5}],"timezone":"Nowhere","cashback":{"rate_bp":0},"locations":[{"latitude":100,"longitude":0,"relevant_text":"x"}]}`,
			[]string{"id", "name", "colors.label", "tiers[0].threshold", "timezone", "cashback.rate_bp", "locations[0].latitude"}},
	} {
		_, err := NewProgramFromJSON(patched(t, tc.patch))
		if err == nil {
			t.Errorf("%s: NewProgramFromJSON() = nil error, want fields %v", name, tc.want)
			continue
		}
		if diff := cmp.Diff(tc.want, fieldNames(t, err)); diff != "" {
			t.Errorf("%s: NewProgramFromJSON() = %v, fields differ (-want +got):\n%s", name, err, diff)
		}
	}
}

func TestNewProgramFromJSONRefusesOtherShapes(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`[1]`, `"program"`, `null`, `42`} {
		_, err := NewProgramFromJSON([]byte(body))
		if got := fieldNames(t, err); !cmp.Equal(got, []string{"program"}) {
			t.Errorf("NewProgramFromJSON(%s) = %v, want one error on program", body, err)
		}
	}
	for _, body := range []string{``, `{"id":`, `{} {}`, `{"id":"x"} trailing`} {
		if _, err := NewProgramFromJSON([]byte(body)); !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("NewProgramFromJSON(%q) = %v, want ErrMalformedJSON", body, err)
		}
	}
}

func TestNewProgramFromJSONIgnoresMetadata(t *testing.T) {
	t.Parallel()
	p, err := NewProgramFromJSON(patched(t, `{"version":"seven","created_at":"not a time","updated_at":12}`))
	if err != nil {
		t.Fatalf("NewProgramFromJSON(with metadata) = %v, want it ignored", err)
	}
	if p.Version != 0 || !p.CreatedAt.IsZero() || !p.UpdatedAt.IsZero() {
		t.Errorf("metadata = %d %v %v, want zero", p.Version, p.CreatedAt, p.UpdatedAt)
	}
}

func TestValidateDefinitionRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	// JSON decoding replaces invalid UTF-8, but a Program can be built in Go.
	p, err := NewProgramFromJSON([]byte(fullDef))
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "Caf\xe9"
	p.Locales["fr"] = Texts{ProgramName: "ok", Terms: "\xff"}
	p.Tiers[2].Benefits = "\xc3"
	if diff := cmp.Diff([]string{"name", "tiers[2].benefits", "locales.fr.terms"}, fieldNames(t, p.ValidateDefinition())); diff != "" {
		t.Errorf("ValidateDefinition() fields differ (-want +got):\n%s", diff)
	}
	// Validate also asks for the template's icon, ValidateDefinition never.
	if diff := cmp.Diff([]string{"name", "tiers[2].benefits", "locales.fr.terms", "icon.png"}, fieldNames(t, p.Validate())); diff != "" {
		t.Errorf("Validate() fields differ (-want +got):\n%s", diff)
	}
}

// program answers fullDef as a stored program at version 3.
func program(t *testing.T) *Program {
	t.Helper()
	p, err := NewProgramFromJSON([]byte(fullDef))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 3
	p.CreatedAt = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	p.UpdatedAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return p
}

func TestPatched(t *testing.T) {
	t.Parallel()
	p := program(t)
	before, _ := p.Definition()
	q, err := p.Patched([]byte(`{"name":"Corner Café & Co","expiry":null,"stamps":{"goal":8},"tiers":[{"name":"Member","threshold":0,"colors":{"label":"#ff0000"}}],"locations":[]}`))
	if err != nil {
		t.Fatalf("Patched() = %v", err)
	}
	if q.Name != "Corner Café & Co" || q.Expiry != nil || q.Stamps.Goal != 8 || q.Stamps.RewardID != "free-coffee" || len(q.Tiers) != 1 || len(q.Locations) != 0 {
		t.Errorf("Patched() = %+v, want the name, stamps goal and tiers changed, expiry and locations gone", q)
	}
	if q.ID != p.ID || q.Version != 3 || !q.UpdatedAt.Equal(p.UpdatedAt) || q.Location().String() != "Europe/Paris" {
		t.Errorf("Patched() id %s version %d updated %v, want p's", q.ID, q.Version, q.UpdatedAt)
	}
	if after, _ := p.Definition(); string(after) != string(before) || p.Expiry == nil {
		t.Errorf("Patched() changed p: %s", after)
	}
	if got := q.TierLook("Member"); got != (Colors{Background: "#101010", Foreground: "#fafafa", Label: "#ff0000"}) {
		t.Errorf("TierLook(Member) = %+v, want the program's colours but the tier's label", got)
	}
}

func TestPatchedAcceptsAGetAnswer(t *testing.T) {
	t.Parallel()
	p := program(t)
	get, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"version":3`, `"created_at":"2026-11-01T09:00:00Z"`, `"updated_at":"2026-12-01T09:00:00Z"`} {
		if !strings.Contains(string(get), field) {
			t.Fatalf("json.Marshal(program) = %s, lacks %s", get, field)
		}
	}
	q, err := p.Patched(get)
	if err != nil {
		t.Fatalf("Patched(GET answer) = %v, want it accepted", err)
	}
	if diff := cmp.Diff(p, q, cmp.AllowUnexported(Program{}), cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("Patched(GET answer) differs from the program (-p +q):\n%s", diff)
	}
	// Stale or odd metadata in a patch changes nothing either.
	q, err = p.Patched([]byte(`{"version":1,"created_at":"yesterday","updated_at":null,"welcome_bonus":0}`))
	if err != nil || q.Version != 3 || q.WelcomeBonus != 0 || !q.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("Patched(metadata) = %+v, %v, want version 3 and the welcome bonus off", q, err)
	}
}

func TestPatchedRefuses(t *testing.T) {
	t.Parallel()
	p := program(t)
	for name, tc := range map[string]struct {
		patch string
		want  []string
	}{
		"new id":           {`{"id":"other-cafe"}`, []string{"id"}},
		"invalid new id":   {`{"id":"Other Cafe"}`, []string{"id"}},
		"id deleted":       {`{"id":null}`, []string{"id"}},
		"id of wrong type": {`{"id":7}`, []string{"id"}},
		"not an object":    {`["name"]`, []string{"program"}},
		"null":             {`null`, []string{"program"}},
		// Tiers are an optional rule block (API.md): deleting them is not
		// refused, deleting the name and the locales is.
		"required deleted": {`{"name":null,"locales":null,"tiers":null}`, []string{"name", "locales", "default_locale"}},
		"several": {`{"tiers":[{"name":"Bronze","threshold":0},{"name":"Silver","threshold":10,"colors":{"background":"#1234"}}],"locations":[{"latitude":0,"longitude":0,"relevant_text":"x"},{"latitude":0,"longitude":0,"relevant_text":"x"},{"latitude":0,"longitude":0,"relevant_text":"x"},{"latitude":-95,"longitude":0,"relevant_text":"x"}],"expiry":{"remind_days":400},"dormant":{"after_days":null}}`,
			[]string{"tiers[1].colors.background", "expiry.remind_days", "dormant.after_days", "locations[3].latitude"}},
		"unknown nested": {`{"referral":{"bonus":5}}`, []string{"referral.bonus"}},
	} {
		q, err := p.Patched([]byte(tc.patch))
		if err == nil {
			t.Errorf("%s: Patched(%s) = %+v, want fields %v", name, tc.patch, q, tc.want)
			continue
		}
		if diff := cmp.Diff(tc.want, fieldNames(t, err)); diff != "" {
			t.Errorf("%s: Patched(%s) = %v, fields differ (-want +got):\n%s", name, tc.patch, err, diff)
		}
	}
	if _, err := p.Patched([]byte(`{"name":`)); !errors.Is(err, ErrMalformedJSON) {
		t.Errorf("Patched(truncated) = %v, want ErrMalformedJSON", err)
	}
}

func TestPatchedKeepsTemplateFiles(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog(TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	demo, _ := c.Get("demo")
	q, err := demo.Patched([]byte(`{"timezone":"America/New_York","tiers":[{"name":"Bronze","threshold":0},{"name":"Silver","threshold":1000},{"name":"Gold","threshold":5000,"benefits":"Free cake"}]}`))
	if err != nil {
		t.Fatalf("demo.Patched() = %v", err)
	}
	if _, ok := q.Files["icon.png"]; !ok || q.Hash != demo.Hash || q.Source != demo.Source || q.Strings("fr") == nil {
		t.Errorf("demo.Patched() lost the template's files, hash, source or strings")
	}
	if err := q.Validate(); err != nil {
		t.Errorf("demo.Patched().Validate() = %v", err)
	}
	if q.Location().String() != "America/New_York" || demo.Location() != time.UTC {
		t.Errorf("Location() = %v and %v, want America/New_York and UTC", q.Location(), demo.Location())
	}
}

func TestTierLook(t *testing.T) {
	t.Parallel()
	p := program(t)
	prog := p.Colors
	for _, tc := range []struct {
		tier string
		want Colors
	}{
		{"Bronze", prog},
		{"Silver", Colors{Background: "#c0c0c0", Foreground: prog.Foreground, Label: prog.Label}},
		{"Gold", Colors{Background: "#d4af37", Foreground: "#000000", Label: "#333333"}},
		{"Platinum", prog},
		{"", prog},
	} {
		if got := p.TierLook(tc.tier); got != tc.want {
			t.Errorf("TierLook(%q) = %+v, want %+v", tc.tier, got, tc.want)
		}
	}
}

func TestLocationFollowsTimezone(t *testing.T) {
	t.Parallel()
	p := program(t)
	p.Timezone = "Asia/Tokyo" // changed after loading: the cached zone must not answer
	if got := p.Location().String(); got != "Asia/Tokyo" {
		t.Errorf("Location() = %s, want Asia/Tokyo", got)
	}
	for _, tz := range []string{"", "Nowhere/City", "Local"} {
		if got := (&Program{Timezone: tz}).Location(); got != time.UTC {
			t.Errorf("Program{Timezone: %q}.Location() = %v, want UTC", tz, got)
		}
	}
}

func TestLoadProgramReadsRuleBlocks(t *testing.T) {
	t.Parallel()
	def := strings.Replace(goodDef, `"currency"`, `"version":9,"created_at":"2020-01-01T00:00:00Z","updated_at":false,"timezone":"Europe/Berlin","stamps":{"goal":5,"reward_id":"r1"},"currency"`, 1)
	fsys := fstest.MapFS{"s/program.json": {Data: []byte(def)}, "s/icon.png": {Data: []byte("png")}}
	p, err := LoadProgram(fsys, "s", "ops/s")
	if err != nil {
		t.Fatalf("LoadProgram() = %v", err)
	}
	if p.Stamps == nil || p.Stamps.Goal != 5 || p.Location().String() != "Europe/Berlin" || p.Version != 0 || !p.CreatedAt.IsZero() {
		t.Errorf("LoadProgram() = %+v, want the stamps and zone read and the metadata ignored", p)
	}
	for name, tc := range map[string]struct{ def, want string }{
		"case":        {strings.Replace(goodDef, `"name"`, `"NAME"`, 1), "NAME: is not a field of a program"},
		"coordinates": {strings.Replace(goodDef, `"currency"`, `"locations":[{"relevant_text":"x"}],"currency"`, 1), "locations[0].latitude: is required"},
		"all at once": {strings.Replace(goodDef, `"currency":"GBP"`, `"currency":"gbp","timezone":"Moon/Base","stamps":{"goal":0,"reward_id":"r"}`, 1), "currency: must be an ISO 4217 code such as EUR; timezone: must be an IANA time zone such as Europe/Paris; stamps.goal: must be an integer from 1 to 100; icon.png"},
	} {
		fsys := fstest.MapFS{"s/program.json": {Data: []byte(tc.def)}}
		if name != "all at once" {
			fsys["s/icon.png"] = &fstest.MapFile{Data: []byte("png")}
		}
		if _, err := LoadProgram(fsys, "s", "ops/s"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadProgram() = %v, want %q", name, err, tc.want)
		}
	}
}

func FuzzPatched(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"id":"x"}`, `{"name":"New","expiry":null}`,
		`{"tiers":[{"name":"A","threshold":0,"colors":{"label":"#000000"}}]}`,
		`{"locations":[{"latitude":1.5,"longitude":-2,"relevant_text":"x"}]}`,
		`{"stamps":{"goal":3},"dormant":{"message":"Hi"},"version":7}`,
		`{"locales":{"de":{"program_name":"Ecke"}},"default_locale":"de"}`,
		`{"tiers":[1,{"name":5}],"earn":{"points_per_unit":1e3}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, patch []byte) {
		p := program(t)
		q, err := p.Patched(patch)
		if err != nil {
			var ve *balances.ValidationError
			if !errors.As(err, &ve) && !errors.Is(err, ErrMalformedJSON) {
				t.Fatalf("Patched(%q) = %v, want a ValidationError or ErrMalformedJSON", patch, err)
			}
			if ve != nil && len(ve.Fields) == 0 {
				t.Fatalf("Patched(%q) = a ValidationError naming no field", patch)
			}
			return
		}
		if err := q.ValidateDefinition(); err != nil {
			t.Fatalf("Patched(%q) accepted a program that does not validate: %v", patch, err)
		}
		if q.ID != p.ID || q.Version != p.Version {
			t.Fatalf("Patched(%q) id %q version %d, want %q %d", patch, q.ID, q.Version, p.ID, p.Version)
		}
		// What was accepted reads back the same, as POST and as a patch.
		def, err := q.Definition()
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewProgramFromJSON(def)
		if err != nil {
			t.Fatalf("NewProgramFromJSON(%s) = %v, for a definition Patched accepted", def, err)
		}
		if again, _ := r.Definition(); string(again) != string(def) {
			t.Fatalf("definition changed on reading: %s, then %s", def, again)
		}
		if _, err := q.Patched(def); err != nil {
			t.Fatalf("Patched(own definition) = %v", err)
		}
	})
}

// TestValidationMessage checks that a message reads well for an integrator.
func TestValidationMessage(t *testing.T) {
	t.Parallel()
	_, err := NewProgramFromJSON(patched(t, `{"expiry":{"after_days":10,"remind_days":10}}`))
	want := "validation failed: expiry.remind_days: must be 0 or more and below after_days"
	if err == nil || err.Error() != want {
		t.Errorf("NewProgramFromJSON() = %v, want %s", err, want)
	}
}
