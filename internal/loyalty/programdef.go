// This file holds a program's definition as the API accepts it (API.md,
// "Programs are data"): the rule blocks beside the template's fields, their
// validation, strict decoding that names every misfit field, and merge
// patches of a program.

package loyalty

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // programme time zones must load on hosts without zoneinfo
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

// Tier windows: which points qualify for a tier.
const (
	// TierWindowLifetime counts every point ever earned (the default).
	TierWindowLifetime = "lifetime"
	// TierWindowRolling365 counts the points earned in the last 365 days;
	// a member can then fall to a lower tier.
	TierWindowRolling365 = "rolling_365_days"
)

// Bounds of a program definition. Counts of characters are Unicode code
// points.
const (
	// MaxTiers bounds the tier ladder.
	MaxTiers = 20
	// MaxTierThreshold bounds a tier's threshold (qualifying points).
	MaxTierThreshold = 1_000_000_000_000
	// MaxMinorPerUnit bounds earn.minor_per_unit (10^4: no currency has
	// more than four decimals).
	MaxMinorPerUnit = 10_000
	// MaxLocales bounds the languages of a program.
	MaxLocales = 50
	// MaxDays bounds every day count (expiry.after_days,
	// dormant.after_days): ten years.
	MaxDays = 3650
	// MaxStampGoal bounds stamps.goal.
	MaxStampGoal = 100
	// MaxRateBP bounds cashback.rate_bp: 10,000 basis points give the whole
	// amount back.
	MaxRateBP = 10_000
	// MaxPlaces bounds locations (Apple shows at most ten).
	MaxPlaces = 10
	// MaxNameLen bounds names: name, organization_name, a locale's
	// program_name.
	MaxNameLen = 200
	// MaxTierNameLen bounds a tier's name, shown as a field of the card.
	MaxTierNameLen = 64
	// MaxShortTextLen bounds description, a locale's description, a tier's
	// benefits and dormant.message.
	MaxShortTextLen = 500
	// MaxHowItWorksLen bounds a locale's how_it_works.
	MaxHowItWorksLen = 2000
	// MaxTermsLen bounds a locale's terms.
	MaxTermsLen = 5000
	// MaxRelevantTextLen bounds a location's relevant_text.
	MaxRelevantTextLen = 200
)

// Tier is one rung of a program's tier ladder: balances' tier (a member
// whose qualifying points reach Threshold holds it) with what the card
// shows of it.
type Tier struct {
	// Name is 1-64 characters.
	Name string `json:"name"`
	// Threshold is 0 for the first tier and rises strictly, up to
	// MaxTierThreshold.
	Threshold int64 `json:"threshold"`
	// Benefits is optional free text (at most 500 characters) shown on the
	// card of members of the tier.
	Benefits string `json:"benefits,omitempty"`
	// Colors overrides the program's colours on the cards of the tier's
	// members, each colour on its own; nil keeps the program's.
	Colors *Colors `json:"colors,omitempty"`
}

// Expiry makes earned points expire.
type Expiry struct {
	// AfterDays (1-3650) is how long a lot of earned points lives.
	AfterDays int `json:"after_days"`
	// RemindDays (0 = no reminder, else below AfterDays) is how many days
	// before a lot expires the card says so.
	RemindDays int `json:"remind_days,omitempty"`
}

// Stamps makes the program a stamp card.
type Stamps struct {
	// Goal (1-100) is the stamps that earn the reward.
	Goal int `json:"goal"`
	// RewardID is the reward a full card issues a voucher for: 1-64
	// letters, digits, '-' or '_'.
	RewardID string `json:"reward_id"`
}

// Cashback gives back part of every purchase amount.
type Cashback struct {
	// RateBP (1-10000) is the basis points of the amount given back.
	RateBP int64 `json:"rate_bp"`
}

// Referral rewards members who bring others.
type Referral struct {
	// ReferrerPoints and RefereePoints (each 0-1,000,000,000, not both 0)
	// are credited on the referee's first earn.
	ReferrerPoints int64 `json:"referrer_points"`
	RefereePoints  int64 `json:"referee_points"`
}

// Dormant reaches members who stopped coming.
type Dormant struct {
	// AfterDays (1-3650) without a transaction makes a member dormant.
	AfterDays int `json:"after_days"`
	// Message (1-500 characters) is shown on a dormant member's card.
	Message string `json:"message"`
	// BonusPoints (0-1,000,000,000) are credited once per dormant spell.
	BonusPoints int64 `json:"bonus_points,omitempty"`
}

// Place is a location near which the Apple card shows on the lock screen.
type Place struct {
	// Latitude (-90..90) and Longitude (-180..180) are degrees; both are
	// required (0 is a place too).
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	// RelevantText (1-200 characters) is what the lock screen says.
	RelevantText string `json:"relevant_text"`
}

var (
	// idPattern is the id of every program (API.md): templates seed
	// programs, so they follow it too.
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	colorPattern    = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	langPattern     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	rewardIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// NewProgramFromJSON decodes and validates a program definition as POST
// /api/v1/programs receives it. Unset fields take the template loader's
// defaults (minor_per_unit 100, barcode qr, timezone UTC, tier_window
// lifetime). version, created_at and updated_at are ignored: passd sets
// them. A body that is not one JSON value is ErrMalformedJSON; every other
// problem (unknown fields, wrong types, invalid values) is one
// *balances.ValidationError naming each field by its JSON path. The program
// has no files: images are set apart from the definition.
func NewProgramFromJSON(body []byte) (*Program, error) {
	p, shape, err := decodeDefinition(body)
	if err != nil {
		return nil, err
	}
	if err := p.finish(shape, p.ValidateDefinition); err != nil {
		return nil, err
	}
	return p, nil
}

// Patched answers the program p becomes under a JSON merge patch (RFC
// 7396), as PATCH /api/v1/programs/{program} receives it; p is left as it
// is. The id cannot change; version, created_at and updated_at are ignored
// (the answer keeps p's: the store moves them), so a GET answer sent back
// whole is a valid patch. Files, Source, Hash and the localizable strings
// are p's. Errors are those of NewProgramFromJSON.
func (p *Program) Patched(patch []byte) (*Program, error) {
	doc, err := p.Definition()
	if err != nil {
		return nil, err
	}
	merged, err := MergePatch(doc, patch)
	if err != nil {
		return nil, err
	}
	q, shape, err := decodeDefinition(merged)
	if err != nil {
		return nil, err
	}
	if q.ID != p.ID && !hasField(shape, "id") {
		shape = append(shape, balances.FieldError{Field: "id", Message: fmt.Sprintf("cannot be changed (the program is %q)", p.ID), Reason: ReasonInvalid})
	}
	q.ID = p.ID
	q.Version, q.CreatedAt, q.UpdatedAt = p.Version, p.CreatedAt, p.UpdatedAt
	q.Files, q.Source, q.Hash, q.strs = maps.Clone(p.Files), p.Source, p.Hash, p.strs
	if err := q.finish(shape, q.ValidateDefinition); err != nil {
		return nil, err
	}
	return q, nil
}

// Definition answers the program's JSON definition: what POST takes and
// PATCH patches, without version, created_at and updated_at.
func (p *Program) Definition() ([]byte, error) {
	d := *p
	d.Version, d.CreatedAt, d.UpdatedAt = 0, time.Time{}, time.Time{}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("program %s definition: %w", p.ID, err)
	}
	return b, nil
}

// TierLook answers the colours of the cards of tier's members: the tier's
// own colours, each unset one falling back to the program's. An unknown
// tier has the program's colours.
func (p *Program) TierLook(tier string) Colors {
	c := p.Colors
	for _, t := range p.Tiers {
		if t.Name != tier || t.Colors == nil {
			continue
		}
		c.Background = cmp.Or(t.Colors.Background, c.Background)
		c.Foreground = cmp.Or(t.Colors.Foreground, c.Foreground)
		c.Label = cmp.Or(t.Colors.Label, c.Label)
	}
	return c
}

// Location answers the program's time zone, in which its days (birthdays,
// happy hours, expiry dates shown) are counted; UTC when unset or unknown.
func (p *Program) Location() *time.Location {
	if p.loc != nil && p.loc.String() == cmp.Or(p.Timezone, "UTC") {
		return p.loc
	}
	if loc, err := loadZone(p.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// loadZone loads an IANA zone; "" is UTC and "Local" (the host's zone) is
// refused.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, errors.New("the host's zone is not a programme zone")
	}
	return time.LoadLocation(name)
}

// applyDefaults fills the fields a definition may leave out.
func (p *Program) applyDefaults() {
	if p.Earn.MinorPerUnit == 0 {
		p.Earn.MinorPerUnit = 100
	}
	if p.Barcode == "" {
		p.Barcode = BarcodeQR
	}
	if p.Timezone == "" {
		p.Timezone = "UTC"
	}
	if p.TierWindow == "" {
		p.TierWindow = TierWindowLifetime
	}
}

// finish applies the defaults, validates the program with validate and
// reports the shape problems found while decoding with its findings, then
// keeps the time zone.
func (p *Program) finish(shape []balances.FieldError, validate func() error) error {
	p.applyDefaults()
	if err := joinFieldErrors(shape, validate()); err != nil {
		return err
	}
	p.loc = p.Location()
	return nil
}

// ValidateDefinition reports every invalid field of the program's
// definition in one *balances.ValidationError, each named by its JSON path
// (tiers[1].colors.background, locations[3].latitude, ...). It does not
// look at the template folder's files: see Validate.
func (p *Program) ValidateDefinition() error {
	v := &balances.ValidationError{}
	p.validateDefinition(v)
	return v.Err()
}

// validateDefinition adds the definition's invalid fields to v.
func (p *Program) validateDefinition(v *balances.ValidationError) {
	if !idPattern.MatchString(p.ID) {
		v.AddReason("id", ReasonInvalid, "must be 2-63 lower-case letters, digits or '-', starting with a letter or digit")
	}
	checkText(v, "name", p.Name, true, MaxNameLen)
	checkText(v, "organization_name", p.OrganizationName, true, MaxNameLen)
	checkText(v, "description", p.Description, false, MaxShortTextLen)
	checkColors(v, "colors", p.Colors, true)
	if !currencyPattern.MatchString(p.Currency) {
		v.AddReason("currency", ReasonInvalid, "must be an ISO 4217 code such as EUR")
	}
	checkRange(v, "earn.minor_per_unit", p.Earn.MinorPerUnit, 1, MaxMinorPerUnit)
	if err := p.Rules().Validate(); err != nil {
		var ve *balances.ValidationError
		if errors.As(err, &ve) {
			v.Fields = append(v.Fields, ve.Fields...)
		}
	}
	p.validateTiers(v)
	switch p.Barcode {
	case BarcodeQR, BarcodePDF417, BarcodeAztec, BarcodeCode128:
	default:
		v.AddReason("barcode_format", ReasonInvalid, "must be qr, pdf417, aztec or code128")
	}
	p.validateLocales(v)
	p.validateRules(v)
}

// validateTiers checks what balances.Rules.Validate leaves to the program:
// the count, the threshold bound and the card's view of each tier.
func (p *Program) validateTiers(v *balances.ValidationError) {
	if len(p.Tiers) > MaxTiers {
		v.AddReason("tiers", ReasonTooLong, fmt.Sprintf("at most %d tiers", MaxTiers))
	}
	for i, t := range p.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		if t.Name != "" { // balances reports a missing name
			checkText(v, f+".name", t.Name, false, MaxTierNameLen)
		}
		if t.Threshold < 0 || t.Threshold > MaxTierThreshold {
			v.AddReason(f+".threshold", ReasonRange, fmt.Sprintf("must be an integer from 0 to %d", int64(MaxTierThreshold)))
		}
		checkText(v, f+".benefits", t.Benefits, false, MaxShortTextLen)
		if t.Colors != nil {
			checkColors(v, f+".colors", *t.Colors, false)
		}
	}
}

// validateLocales checks the languages and their texts.
func (p *Program) validateLocales(v *balances.ValidationError) {
	if len(p.Locales) == 0 {
		v.AddReason("locales", ReasonRequired, "at least one locale is required")
	}
	if len(p.Locales) > MaxLocales {
		v.AddReason("locales", ReasonTooLong, fmt.Sprintf("at most %d locales", MaxLocales))
	}
	for _, l := range slices.Sorted(maps.Keys(p.Locales)) {
		f := "locales." + l
		if !langPattern.MatchString(l) {
			v.AddReason(f, ReasonInvalid, "is not a language code such as en or fr")
		}
		t := p.Locales[l]
		checkText(v, f+".program_name", t.ProgramName, true, MaxNameLen)
		checkText(v, f+".description", t.Description, false, MaxShortTextLen)
		checkText(v, f+".how_it_works", t.HowItWorks, false, MaxHowItWorksLen)
		checkText(v, f+".terms", t.Terms, false, MaxTermsLen)
		checkText(v, f+".privacy", t.Privacy, false, MaxTermsLen)
	}
	if _, ok := p.Locales[p.DefaultLocale]; !ok {
		v.AddReason("default_locale", ReasonInvalid, "must name one of locales")
	}
}

// validateRules checks the optional rule blocks.
func (p *Program) validateRules(v *balances.ValidationError) {
	if _, err := loadZone(p.Timezone); err != nil {
		v.AddReason("timezone", ReasonInvalid, "must be an IANA time zone such as Europe/Paris")
	}
	switch p.TierWindow {
	case "", TierWindowLifetime, TierWindowRolling365:
	default:
		v.AddReason("tier_window", ReasonInvalid, "must be lifetime or rolling_365_days")
	}
	if e := p.Expiry; e != nil {
		checkRange(v, "expiry.after_days", int64(e.AfterDays), 1, MaxDays)
		if e.RemindDays < 0 || (e.AfterDays >= 1 && e.RemindDays >= e.AfterDays) {
			v.AddReason("expiry.remind_days", ReasonRange, "must be 0 or more and below after_days")
		}
	}
	if s := p.Stamps; s != nil {
		checkRange(v, "stamps.goal", int64(s.Goal), 1, MaxStampGoal)
		if !rewardIDPattern.MatchString(s.RewardID) {
			v.AddReason("stamps.reward_id", ReasonInvalid, "must be the id of a reward (1-64 letters, digits, '-' or '_')")
		}
	}
	if c := p.Cashback; c != nil {
		checkRange(v, "cashback.rate_bp", c.RateBP, 1, MaxRateBP)
	}
	checkRange(v, "welcome_bonus", p.WelcomeBonus, 0, balances.MaxPoints)
	checkRange(v, "birthday_bonus", p.BirthdayBonus, 0, balances.MaxPoints)
	if r := p.Referral; r != nil {
		checkRange(v, "referral.referrer_points", r.ReferrerPoints, 0, balances.MaxPoints)
		checkRange(v, "referral.referee_points", r.RefereePoints, 0, balances.MaxPoints)
		if r.ReferrerPoints == 0 && r.RefereePoints == 0 {
			v.AddReason("referral", ReasonRequired, "give referrer_points or referee_points")
		}
	}
	if d := p.Dormant; d != nil {
		checkRange(v, "dormant.after_days", int64(d.AfterDays), 1, MaxDays)
		checkText(v, "dormant.message", d.Message, true, MaxShortTextLen)
		checkRange(v, "dormant.bonus_points", d.BonusPoints, 0, balances.MaxPoints)
	}
	if len(p.Locations) > MaxPlaces {
		v.AddReason("locations", ReasonTooLong, fmt.Sprintf("at most %d locations", MaxPlaces))
	}
	for i, l := range p.Locations {
		f := fmt.Sprintf("locations[%d]", i)
		if !(l.Latitude >= -90 && l.Latitude <= 90) {
			v.AddReason(f+".latitude", ReasonRange, "must be from -90 to 90")
		}
		if !(l.Longitude >= -180 && l.Longitude <= 180) {
			v.AddReason(f+".longitude", ReasonRange, "must be from -180 to 180")
		}
		checkText(v, f+".relevant_text", l.RelevantText, true, MaxRelevantTextLen)
	}
}

// checkText reports field when s is not valid UTF-8, holds a control
// character or is longer than max characters; required also refuses a
// blank s.
func checkText(v *balances.ValidationError, field, s string, required bool, max int) {
	switch {
	case !v.CheckText(field, s, false):
	case required && strings.TrimSpace(s) == "":
		v.AddReason(field, ReasonRequired, "is required")
	case utf8.RuneCountInString(s) > max:
		v.AddReason(field, ReasonTooLong, fmt.Sprintf("must be at most %d characters", max))
	}
}

// checkRange reports field when n is outside lo..hi.
func checkRange(v *balances.ValidationError, field string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.AddReason(field, ReasonRange, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
	}
}

// checkColors reports each colour of c that is not #rrggbb; unless
// required, an empty colour is unset.
func checkColors(v *balances.ValidationError, field string, c Colors, required bool) {
	for _, c := range []struct{ f, v string }{
		{"background", c.Background}, {"foreground", c.Foreground}, {"label", c.Label},
	} {
		if (required || c.v != "") && !colorPattern.MatchString(c.v) {
			v.AddReason(field+"."+c.f, ReasonInvalid, "must be a #rrggbb colour")
		}
	}
}

// joinFieldErrors answers the shape problems followed by those of err (a
// *balances.ValidationError or nil), leaving out the latter's fields at or
// under a field of the former: a field of the wrong type was dropped
// before validation, so what validation says of it is noise.
func joinFieldErrors(shape []balances.FieldError, err error) error {
	v := &balances.ValidationError{Fields: slices.Clone(shape)}
	var ve *balances.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if !underAny(shape, f.Field) {
				v.Fields = append(v.Fields, f)
			}
		}
	} else if err != nil {
		return err
	}
	return v.Err()
}

// underAny reports whether field is one of fs or within one.
func underAny(fs []balances.FieldError, field string) bool {
	for _, f := range fs {
		if field == f.Field || strings.HasPrefix(field, f.Field+".") || strings.HasPrefix(field, f.Field+"[") {
			return true
		}
	}
	return false
}

func hasField(fs []balances.FieldError, field string) bool {
	return slices.ContainsFunc(fs, func(f balances.FieldError) bool { return f.Field == field })
}

// rootField names the whole definition in a field error.
const rootField = "program"

// decodeDefinition decodes a definition strictly: every member that is not
// a field of its object (names are case-sensitive), every value of the
// wrong JSON type, and every missing required coordinate is answered in
// shape, by JSON path, and left out of the program, so that validation can
// still report every other field.
func decodeDefinition(body []byte) (*Program, []balances.FieldError, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return nil, nil, fmt.Errorf("program: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok { // nothing else is worth saying
		v := &balances.ValidationError{}
		v.AddReason(rootField, ReasonInvalid, "must be a JSON object")
		return nil, nil, v
	}
	// passd sets these; a definition's own are ignored, whatever they hold.
	for _, k := range [...]string{"version", "created_at", "updated_at"} {
		delete(obj, k)
	}
	v := &balances.ValidationError{}
	checkShape(v, "", obj, reflect.TypeFor[Program]())
	clean, err := encodeJSON(obj)
	if err != nil {
		return nil, nil, err
	}
	p := &Program{}
	if err := json.Unmarshal(clean, p); err != nil {
		return nil, nil, fmt.Errorf("decode program: %w", err)
	}
	return p, v.Fields, nil
}

// checkShape reports whether the decoded JSON value x fits Go type t as
// encoding/json decodes it; it reports each misfit under path and removes
// it from x's objects (an array element that does not fit becomes null).
// null fits every type: it leaves the field unset.
func checkShape(v *balances.ValidationError, path string, x any, t reflect.Type) bool {
	if x == nil {
		return true
	}
	want := ""
	switch t.Kind() {
	case reflect.Pointer:
		return checkShape(v, path, x, t.Elem())
	case reflect.Struct:
		obj, ok := x.(map[string]any)
		if !ok {
			want = "an object"
			break
		}
		checkObject(v, path, obj, t)
		return true
	case reflect.Map:
		obj, ok := x.(map[string]any)
		if !ok {
			want = "an object"
			break
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if !checkShape(v, join(path, k), obj[k], t.Elem()) {
				delete(obj, k)
			}
		}
		return true
	case reflect.Slice:
		arr, ok := x.([]any)
		if !ok {
			want = "an array"
			break
		}
		for i, e := range arr {
			if !checkShape(v, fmt.Sprintf("%s[%d]", path, i), e, t.Elem()) {
				arr[i] = nil
			}
		}
		return true
	case reflect.String:
		if _, ok := x.(string); ok {
			return true
		}
		want = "a string"
	case reflect.Bool:
		if _, ok := x.(bool); ok {
			return true
		}
		want = "true or false"
	case reflect.Int, reflect.Int64:
		if n, ok := x.(json.Number); ok {
			if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return true
			}
		}
		want = "an integer"
	case reflect.Float64:
		if n, ok := x.(json.Number); ok {
			if _, err := strconv.ParseFloat(string(n), 64); err == nil {
				return true
			}
		}
		want = "a number"
	default:
		want = "absent" // no such field in a definition
	}
	v.AddReason(cmp.Or(path, rootField), ReasonInvalid, "must be "+want)
	return false
}

// checkObject checks the members of obj against the JSON fields of struct
// type t.
func checkObject(v *balances.ValidationError, path string, obj map[string]any, t reflect.Type) {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			fields[name] = f.Type
		}
	}
	if t == reflect.TypeFor[Place]() {
		for _, k := range []string{"latitude", "longitude"} {
			if obj[k] == nil {
				v.AddReason(join(path, k), ReasonRequired, "is required")
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		ft, ok := fields[k]
		if !ok {
			v.AddReason(join(path, k), ReasonInvalid, "is not a field of "+cmp.Or(path, "a program"))
			delete(obj, k)
			continue
		}
		if !checkShape(v, join(path, k), obj[k], ft) {
			delete(obj, k)
		}
	}
}

// join names member k of the object at path.
func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
