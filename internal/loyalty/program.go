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
	"regexp"
	"sort"
	"strings"

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

// Colors of a card, as #rrggbb.
type Colors struct {
	Background string `json:"background"`
	Foreground string `json:"foreground"`
	Label      string `json:"label"`
}

// Texts are the words of a program in one language.
type Texts struct {
	ProgramName string `json:"program_name"`
	Description string `json:"description"`
	HowItWorks  string `json:"how_it_works"`
	Terms       string `json:"terms"`
}

// Program is one loyalty program: its identity, design, rules and texts.
type Program struct {
	ID               string           `json:"id"`
	Name             string           `json:"name"`
	OrganizationName string           `json:"organization_name"`
	Description      string           `json:"description"`
	Colors           Colors           `json:"colors"`
	Currency         string           `json:"currency"`
	Earn             Earn             `json:"earn"`
	Tiers            []balances.Tier  `json:"tiers"`
	Barcode          string           `json:"barcode_format"`
	AllowManualEntry bool             `json:"allow_manual_entry"`
	DefaultLocale    string           `json:"default_locale"`
	Locales          map[string]Texts `json:"locales"`

	// Files holds every other file of the folder (images, *.lproj/pass.strings)
	// by its slash-separated path relative to the folder.
	Files map[string][]byte `json:"-"`
	// Source names where the program was loaded from, for messages.
	Source string `json:"-"`
	// Hash is a digest of the whole folder; it changes whenever the template does.
	Hash string `json:"-"`

	strs map[string]map[string]string // lang -> key -> text, from Files

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
	return balances.Rules{PointsPerUnit: p.Earn.PointsPerUnit, MinorPerUnit: p.Earn.MinorPerUnit, Tiers: p.Tiers}
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

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	langPattern  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
)

// Load reads the template folder dir of fsys. source prefixes messages, so
// that an operator reads which file and field is wrong.
func LoadProgram(fsys fs.FS, dir, source string) (*Program, error) {
	defPath := path.Join(dir, DefinitionFile)
	where := path.Join(source, DefinitionFile)
	raw, err := fs.ReadFile(fsys, defPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p := &Program{Source: source}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p.Files = map[string][]byte{}
	h := sha256.New()
	h.Write(raw)
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
	if p.Earn.MinorPerUnit == 0 {
		p.Earn.MinorPerUnit = 100
	}
	if p.Barcode == "" {
		p.Barcode = BarcodeQR
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// Validate reports every invalid field of the definition.
func (p *Program) Validate() error {
	v := &balances.ValidationError{}
	if !idPattern.MatchString(p.ID) {
		v.Add("id", "must be 1-63 lower-case letters, digits, '-' or '_'")
	}
	if strings.TrimSpace(p.Name) == "" {
		v.Add("name", "is required")
	}
	if strings.TrimSpace(p.OrganizationName) == "" {
		v.Add("organization_name", "is required")
	}
	for _, c := range []struct{ f, v string }{
		{"colors.background", p.Colors.Background},
		{"colors.foreground", p.Colors.Foreground},
		{"colors.label", p.Colors.Label},
	} {
		if !colorPattern.MatchString(c.v) {
			v.Add(c.f, "must be a #rrggbb colour")
		}
	}
	if len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency {
		v.Add("currency", "must be an ISO 4217 code such as EUR")
	}
	if p.Earn.MinorPerUnit < 1 {
		v.Add("earn.minor_per_unit", "must be at least 1")
	}
	if err := p.Rules().Validate(); err != nil {
		var ve *balances.ValidationError
		if errors.As(err, &ve) {
			v.Fields = append(v.Fields, ve.Fields...)
		}
	}
	switch p.Barcode {
	case BarcodeQR, BarcodePDF417, BarcodeAztec, BarcodeCode128:
	default:
		v.Add("barcode_format", "must be qr, pdf417, aztec or code128")
	}
	if len(p.Locales) == 0 {
		v.Add("locales", "at least one locale is required")
	}
	for l, t := range p.Locales {
		if !langPattern.MatchString(l) {
			v.Add("locales."+l, "is not a language code such as en or fr")
		}
		if strings.TrimSpace(t.ProgramName) == "" {
			v.Add("locales."+l+".program_name", "is required")
		}
	}
	if _, ok := p.Locales[p.DefaultLocale]; !ok {
		v.Add("default_locale", "must name one of locales")
	}
	if _, ok := p.Files["icon.png"]; !ok {
		v.Add("icon.png", "the folder must hold icon.png")
	}
	return v.Err()
}

// Catalog is the set of programs passd serves.
type Catalog struct {
	byID map[string]*Program
	ids  []string
}

// Get answers the program with the given id.
func (c *Catalog) Get(id string) (*Program, error) {
	p, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("program %q: %w", id, ErrProgramNotFound)
	}
	return p, nil
}

// IDs lists the program ids in order.
func (c *Catalog) IDs() []string { return append([]string(nil), c.ids...) }

// LoadCatalog loads every template folder of each source (a folder holding
// one sub-folder per program). A program id defined twice is refused.
func LoadCatalog(sources ...TemplateSource) (*Catalog, error) {
	c := &Catalog{byID: map[string]*Program{}}
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
			if prev, dup := c.byID[p.ID]; dup {
				return nil, fmt.Errorf("%s: id: %q is already defined by %s", path.Join(p.Source, DefinitionFile), p.ID, prev.Source)
			}
			c.byID[p.ID] = p
			c.ids = append(c.ids, p.ID)
		}
	}
	if len(c.ids) == 0 {
		return nil, errors.New("templates: no program found")
	}
	sort.Strings(c.ids)
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
