// This file loads loyalty program definitions from template folders: one
// folder per program holding program.json, the card images and the
// localizations. The embedded templates ship in the binary; operators add
// their own under PASSD_TEMPLATES_DIR.

package loyalty

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/passd/passd/balances"
)

// DefinitionFile is the name of the program definition in a template folder.
const DefinitionFile = "program.json"

// ErrProgramNotFound means no program has the asked id.
var ErrProgramNotFound = errors.New("program not found")

// Barcode formats a program may choose for its cards.
const (
	BarcodeQR      = "qr"
	BarcodePDF417  = "pdf417"
	BarcodeAztec   = "aztec"
	BarcodeCode128 = "code128"
)

// Colors of a card, as #rrggbb. A program sets all three; a tier's may
// leave any unset (empty), keeping the program's.
type Colors struct {
	Background string `json:"background,omitempty"`
	Foreground string `json:"foreground,omitempty"`
	Label      string `json:"label,omitempty"`
}

// Texts are the words of a program in one language.
type Texts struct {
	ProgramName string `json:"program_name"`
	Description string `json:"description"`
	HowItWorks  string `json:"how_it_works"`
	Terms       string `json:"terms"`
	// Privacy is the join page's privacy notice (what is kept, why, how
	// long, how to ask for a copy or erasure); empty takes the pages'
	// default notice in the page's language.
	Privacy string `json:"privacy,omitempty"`
}

// Program is one loyalty program: its identity, design, rules and texts.
// Its JSON is the API's program object; programdef.go holds the rule
// blocks and their bounds.
type Program struct {
	ID               string           `json:"id"`
	Name             string           `json:"name"`
	OrganizationName string           `json:"organization_name"`
	Description      string           `json:"description"`
	Colors           Colors           `json:"colors"`
	Currency         string           `json:"currency"`
	Earn             Earn             `json:"earn"`
	Tiers            []Tier           `json:"tiers"`
	Barcode          string           `json:"barcode_format"`
	AllowManualEntry bool             `json:"allow_manual_entry"`
	DefaultLocale    string           `json:"default_locale"`
	Locales          map[string]Texts `json:"locales"`

	// The optional rule blocks: absent (nil, zero) is off.

	// Timezone is the IANA zone in which the program's days are counted
	// (default UTC; see Location).
	Timezone string `json:"timezone,omitempty"`
	// TierWindow is TierWindowLifetime (default) or TierWindowRolling365.
	TierWindow    string    `json:"tier_window,omitempty"`
	Expiry        *Expiry   `json:"expiry,omitempty"`
	Stamps        *Stamps   `json:"stamps,omitempty"`
	Cashback      *Cashback `json:"cashback,omitempty"`
	WelcomeBonus  int64     `json:"welcome_bonus,omitempty"`  // points at enrolment, 0-1,000,000,000
	BirthdayBonus int64     `json:"birthday_bonus,omitempty"` // points each birthday, 0-1,000,000,000
	Referral      *Referral `json:"referral,omitempty"`
	Dormant       *Dormant  `json:"dormant,omitempty"`
	Locations     []Place   `json:"locations,omitempty"`

	// Version (+1 per change), CreatedAt and UpdatedAt are the stored
	// program's, set by passd: a definition's own (in a template, a POST
	// body or a patch) are ignored, never an error, so that a GET answer
	// can be sent back as a PATCH.
	Version   int64     `json:"version,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`

	// Files holds every other file of the folder (images, *.lproj/pass.strings)
	// by its slash-separated path relative to the folder.
	Files map[string][]byte `json:"-"`
	// Source names where the program was loaded from, for messages.
	Source string `json:"-"`
	// Hash is a digest of the whole folder; it changes whenever the template does.
	Hash string `json:"-"`

	strs map[string]map[string]string // lang -> key -> text, from Files
	loc  *time.Location               // Timezone, loaded once the program is valid
}

// Earn is a program's earn rule.
type Earn struct {
	// PointsPerUnit is the points one whole currency unit earns.
	PointsPerUnit int64 `json:"points_per_unit"`
	// MinorPerUnit is the minor units in one currency unit (default 100).
	MinorPerUnit int64 `json:"minor_per_unit"`
}

// Rules are the ledger rules of the program.
func (p *Program) Rules() balances.Rules {
	tiers := make([]balances.Tier, len(p.Tiers))
	for i, t := range p.Tiers {
		tiers[i] = balances.Tier{Name: t.Name, Threshold: t.Threshold}
	}
	r := balances.Rules{PointsPerUnit: p.Earn.PointsPerUnit, MinorPerUnit: p.Earn.MinorPerUnit, Tiers: tiers, Location: p.Location()}
	if p.Stamps != nil {
		r.StampGoal, r.StampRewardID = int64(p.Stamps.Goal), p.Stamps.RewardID
	}
	if p.Cashback != nil {
		r.CashbackRateBP = p.Cashback.RateBP
	}
	if p.Referral != nil {
		r.Referral = &balances.ReferralPoints{Referrer: p.Referral.ReferrerPoints, Referee: p.Referral.RefereePoints}
	}
	if p.Expiry != nil {
		r.Expiry = &balances.Expiry{AfterDays: p.Expiry.AfterDays, RemindDays: p.Expiry.RemindDays}
	}
	if p.TierWindow == TierWindowRolling365 {
		r.TierWindow = balances.RollingTierWindow
	}
	return r
}

// Text answers the program's texts in the first of langs it has, else in its
// default locale.
func (p *Program) Text(langs ...string) (string, Texts) {
	for _, l := range langs {
		l = strings.ToLower(l)
		if t, ok := p.Locales[l]; ok {
			return l, t
		}
		if base, _, ok := strings.Cut(l, "-"); ok {
			if t, ok := p.Locales[base]; ok {
				return base, t
			}
		}
	}
	return p.DefaultLocale, p.Locales[p.DefaultLocale]
}

// LoadProgram reads the template folder dir of fsys. source prefixes
// messages, so that an operator reads which file and field is wrong. The
// definition is read as NewProgramFromJSON reads it (same fields, defaults
// and checks), and the folder must hold icon.png.
func LoadProgram(fsys fs.FS, dir, source string) (*Program, error) {
	defPath := path.Join(dir, DefinitionFile)
	where := path.Join(source, DefinitionFile)
	raw, err := fs.ReadFile(fsys, defPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// encoding/json's strict decode words a bad file as operators know it
	// (syntax error at a byte, unknown field "x"); decodeDefinition then
	// also refuses what that lets through (names in another case, missing
	// coordinates, trailing data) and drops the fields passd sets.
	var strict struct {
		*Program
		// Ignored, whatever they hold, as decodeDefinition ignores them.
		Version   any `json:"version"`
		CreatedAt any `json:"created_at"`
		UpdatedAt any `json:"updated_at"`
	}
	strict.Program = &Program{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&strict); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p, shape, err := decodeDefinition(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p.Source = source
	p.Files = map[string][]byte{}
	err = fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, dir), "/")
		if d.IsDir() || rel == DefinitionFile || strings.HasPrefix(path.Base(rel), ".") {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		p.Files[rel] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	p.seal(raw)
	if err := p.finish(shape, p.Validate); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// Validate reports every invalid field of a template: those of its
// definition (ValidateDefinition) and what its folder lacks (icon.png).
// Programs created through the API have their images set apart and are
// checked with ValidateDefinition alone.
func (p *Program) Validate() error {
	v := &balances.ValidationError{}
	p.validateDefinition(v)
	if _, ok := p.Files["icon.png"]; !ok {
		v.Add("icon.png", "the folder must hold icon.png")
	}
	return v.Err()
}

// LoadCatalog loads every template folder of each source (a folder holding
// one sub-folder per program). A program id defined twice is refused.
func LoadCatalog(sources ...TemplateSource) (*Catalog, error) {
	c := NewCatalog()
	for _, s := range sources {
		entries, err := fs.ReadDir(s.FS, s.Dir)
		if err != nil {
			return nil, fmt.Errorf("read templates %s: %w", s.Name, err)
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			dir := path.Join(s.Dir, e.Name())
			if _, err := fs.Stat(s.FS, path.Join(dir, DefinitionFile)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			p, err := LoadProgram(s.FS, dir, path.Join(s.Name, e.Name()))
			if err != nil {
				return nil, err
			}
			if prev, err := c.Get(p.ID); err == nil {
				return nil, fmt.Errorf("%s: id: %q is already defined by %s", path.Join(p.Source, DefinitionFile), p.ID, prev.Source)
			}
			c.Put(p)
		}
	}
	if len(c.IDs()) == 0 {
		return nil, errors.New("templates: no program found")
	}
	return c, nil
}

// TemplateSource is one folder of template folders.
type TemplateSource struct {
	Name string // shown in messages, e.g. "templates" or the operator's path
	FS   fs.FS
	Dir  string // "." for the root of FS
}

// TierUpgrade reports whether moving from tier from to tier to climbs the
// program's tiers (to is a tier of the program above from, or from is
// unknown).
func (p *Program) TierUpgrade(from, to string) bool {
	rank := func(name string) int {
		for i, t := range p.Tiers {
			if t.Name == name {
				return i
			}
		}
		return -1
	}
	r := rank(to)
	return r >= 0 && r > rank(from)
}

// seal completes a program from its definition's JSON and its Files: the
// digest of both (Hash) and the localizable strings.
func (p *Program) seal(def []byte) {
	h := sha256.New()
	h.Write(def)
	names := make([]string, 0, len(p.Files))
	for n := range p.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "\x00%s\x00%d\x00", n, len(p.Files[n]))
		h.Write(p.Files[n])
	}
	p.Hash = hex.EncodeToString(h.Sum(nil))[:16]
	p.parseStringsFiles()
}

// StoredProgram rebuilds a program kept in the database: its definition
// (read as NewProgramFromJSON reads a POST body), its files (images and
// localizable strings) and its version and times.
func StoredProgram(def []byte, files map[string][]byte, version int64, created, updated time.Time) (*Program, error) {
	p, err := NewProgramFromJSON(def)
	if err != nil {
		return nil, err
	}
	p.Files = files
	if p.Files == nil {
		p.Files = map[string][]byte{}
	}
	p.Version, p.CreatedAt, p.UpdatedAt = version, created.UTC(), updated.UTC()
	p.seal(def)
	return p, nil
}
