package console

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/templates"
)

// FuzzReadEdit: any editor form either is refused with a validation error
// or makes a JSON merge patch that the domain checks without panicking.
func FuzzReadEdit(f *testing.F) {
	c, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		f.Fatal(err)
	}
	p, err := c.Get("demo")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"welcome_bonus": 50}`, "10", "Gold", "5000", "#112233")
	f.Add(`{"expiry": {"after_days": 365}, "locations": []}`, "1", "", "", "")
	f.Add(`not json`, "x", "Bronze", "-1", "red")
	f.Add(`{"id": "other", "colour": 1}`, "99999999999999999999", "Silver", "1e3", "#fff")
	f.Fuzz(func(t *testing.T, rules, points, tier, threshold, colour string) {
		form := url.Values{"rules": {rules}, "points_per_unit": {points}, "minor_per_unit": {"100"},
			"tier_name": {"Bronze", tier}, "tier_threshold": {"0", threshold}, "background": {colour},
			"name": {"Demo"}, "organization_name": {"Demo Co"}, "program_name_en": {"Demo"}}
		r := httptest.NewRequest("POST", "/", nil)
		r.PostForm = form
		patch, err := readEdit(r, p, &editView{})
		if err != nil {
			var ve *balances.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("readEdit = %v, not a validation error", err)
			}
			return
		}
		if !json.Valid(patch) {
			t.Fatalf("readEdit made a patch that is not JSON: %s", patch)
		}
		if next, err := p.Patched(patch); err == nil && (next.ID != p.ID || next.Earn.MinorPerUnit != 100) {
			t.Fatalf("the patch changed the id or the minor unit: %+v", next)
		}
	})
}
