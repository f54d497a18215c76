package loyalty

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/passd/passd/templates"
)

func TestLoadDemo(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog(TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatalf("LoadCatalog(embedded) = %v", err)
	}
	p, err := c.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	if p.Earn.PointsPerUnit != 10 || len(p.Tiers) != 3 || p.Barcode != BarcodeQR || p.Currency != "EUR" {
		t.Errorf("demo = %+v, want 10 points per unit, 3 tiers, qr, EUR", p)
	}
	for _, f := range []string{"icon.png", "icon@2x.png", "icon@3x.png", "logo.png", "strip@3x.png", "en.lproj/pass.strings", "fr.lproj/pass.strings"} {
		if _, ok := p.Files[f]; !ok {
			t.Errorf("demo files lack %s", f)
		}
	}
	if lang, tx := p.Text("fr-CH", "en"); lang != "fr" || !strings.Contains(tx.ProgramName, "Fidélité") {
		t.Errorf("Text(fr-CH) = %s %+v, want the French texts", lang, tx)
	}
	if lang, _ := p.Text("de"); lang != "en" {
		t.Errorf("Text(de) = %s, want the default en", lang)
	}
	if len(p.Hash) != 16 {
		t.Errorf("Hash = %q, want 16 hex chars", p.Hash)
	}
	if _, err := c.Get("nope"); err == nil {
		t.Errorf("Get(nope) = nil error, want ErrProgramNotFound")
	}
}

const goodDef = `{"id":"shop","name":"Shop","organization_name":"Shop Ltd","description":"d",
 "colors":{"background":"#000000","foreground":"#ffffff","label":"#cccccc"},"currency":"GBP",
 "earn":{"points_per_unit":1},"tiers":[{"name":"Member","threshold":0}],
 "default_locale":"en","locales":{"en":{"program_name":"Shop"}}}`

func TestLoadRefusesInvalid(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		def, want string
		noIcon    bool
	}{
		"bad json":       {`{"id":`, "shop/program.json: unexpected EOF", false},
		"unknown field":  {strings.Replace(goodDef, `"description"`, `"descripton"`, 1), `unknown field "descripton"`, false},
		"bad colour":     {strings.Replace(goodDef, `"#000000"`, `"black"`, 1), "colors.background", false},
		"bad tiers":      {strings.Replace(goodDef, `"threshold":0`, `"threshold":10`, 1), "tiers[0].threshold", false},
		"bad id":         {strings.Replace(goodDef, `"id":"shop"`, `"id":"Shop Two"`, 1), "id: must be", false},
		"bad barcode":    {strings.Replace(goodDef, `"currency"`, `"barcode_format":"ean13","currency"`, 1), "barcode_format", false},
		"default locale": {strings.Replace(goodDef, `"default_locale":"en"`, `"default_locale":"de"`, 1), "default_locale", false},
		"no icon":        {goodDef, "icon.png", true},
	} {
		fsys := fstest.MapFS{"shop/program.json": {Data: []byte(tc.def)}}
		if !tc.noIcon {
			fsys["shop/icon.png"] = &fstest.MapFile{Data: []byte("png")}
		}
		_, err := LoadCatalog(TemplateSource{Name: "ops", FS: fsys, Dir: "."})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ops/shop/program.json") {
			t.Errorf("%s: LoadCatalog() = %v, want an error naming ops/shop/program.json and %q", name, err, tc.want)
		}
	}
}

func TestCatalogRefusesDuplicateIDs(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"a/program.json": {Data: []byte(goodDef)}, "a/icon.png": {Data: []byte("x")},
		"b/program.json": {Data: []byte(goodDef)}, "b/icon.png": {Data: []byte("x")},
	}
	_, err := LoadCatalog(TemplateSource{Name: "ops", FS: fsys, Dir: "."})
	if err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("LoadCatalog(duplicate ids) = %v, want an 'already defined' error", err)
	}
}

func TestHashChangesWithTemplate(t *testing.T) {
	t.Parallel()
	load := func(icon string) string {
		fsys := fstest.MapFS{"s/program.json": {Data: []byte(goodDef)}, "s/icon.png": {Data: []byte(icon)}}
		p, err := LoadProgram(fsys, "s", "s")
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash
	}
	a1, a2, b := load("a"), load("a"), load("b")
	if a1 == b {
		t.Errorf("Hash unchanged after the icon changed")
	}
	if a1 != a2 {
		t.Errorf("Hash differs for the same folder")
	}
}
