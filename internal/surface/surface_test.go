package surface_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
)

func complete() surface.Deps {
	secret := []byte("surface-test-secret-0123456789")
	return surface.Deps{Store: &store.Store{}, Programs: loyalty.NewCatalog(), Secret: secret,
		Links: links.New(secret, "https://passd.example")}
}

func TestCompleteRequires(t *testing.T) {
	t.Parallel()
	for name, drop := range map[string]func(*surface.Deps){
		"store":    func(d *surface.Deps) { d.Store = nil },
		"programs": func(d *surface.Deps) { d.Programs = nil },
		"links":    func(d *surface.Deps) { d.Links = nil },
		"secret":   func(d *surface.Deps) { d.Secret = nil },
	} {
		d := complete()
		drop(&d)
		if _, err := surface.Complete("api", d); err == nil || !strings.HasPrefix(err.Error(), "api: ") {
			t.Errorf("Complete without %s = %v, want an error naming the surface", name, err)
		}
	}
}

func TestCompleteDefaults(t *testing.T) {
	t.Parallel()
	d, err := surface.Complete("web", complete())
	if err != nil {
		t.Fatal(err)
	}
	if d.Logger == nil || d.Now == nil || d.OnChange == nil {
		t.Fatalf("Complete left Logger %v, Now set %t, OnChange set %t; want all set", d.Logger, d.Now != nil, d.OnChange != nil)
	}
	d.OnChange()
	if d.GoogleSaveURL != nil {
		t.Error("Complete set GoogleSaveURL; nil means Google Wallet is off")
	}
	// What was given is kept.
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	log := slog.New(slog.DiscardHandler)
	changed := 0
	given := complete()
	given.Logger, given.Now, given.OnChange = log, func() time.Time { return at }, func() { changed++ }
	d, err = surface.Complete("web", given)
	if err != nil {
		t.Fatal(err)
	}
	d.OnChange()
	if d.Logger != log || !d.Now().Equal(at) || changed != 1 {
		t.Errorf("Complete replaced a given Logger, Now or OnChange")
	}
}
