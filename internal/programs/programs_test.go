package programs_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/programs"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/templates"
)

// opener opens a store on one database; a second call opens another
// store (another instance) on the same database.
type opener func(t *testing.T) *store.Store

// onBothStores runs fn on SQLite and on PostgreSQL (a fresh schema; skipped
// without PASSD_TEST_DATABASE_URL, failed under CI).
func onBothStores(t *testing.T, fn func(t *testing.T, open opener)) {
	opts := store.Options{Logger: slog.New(slog.DiscardHandler)}
	keep := func(t *testing.T, s *store.Store, err error) *store.Store {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "passd.db")
		fn(t, func(t *testing.T) *store.Store {
			s, err := store.OpenSQLite(context.Background(), path, opts)
			return keep(t, s, err)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := testpg.FreshSchema(t)
		fn(t, func(t *testing.T) *store.Store {
			s, err := store.OpenPostgres(context.Background(), url, opts)
			return keep(t, s, err)
		})
	})
}

// demoTemplate answers the embedded demo template, as passd loads it.
func demoTemplate(t *testing.T) *loyalty.Program {
	t.Helper()
	c, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newService answers a service on st with the demo seeded.
func newService(t *testing.T, st *store.Store, cfg programs.Config) *programs.Service {
	t.Helper()
	cfg.Store, cfg.Catalog = st, loyalty.NewCatalog()
	svc, err := programs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Seed(context.Background(), []*loyalty.Program{demoTemplate(t)}); err != nil {
		t.Fatalf("Seed(demo) = %v", err)
	}
	return svc
}

func record(t *testing.T, st *store.Store, id string) store.ProgramRecord {
	t.Helper()
	rec, err := st.Program(context.Background(), id)
	if err != nil {
		t.Fatalf("Program(%s) = %v", id, err)
	}
	return rec
}

// bakery is a valid program object.
const bakery = `{"id":"bakery","name":"Bakery","organization_name":"Bakery",
	"colors":{"background":"#111111","foreground":"#ffffff","label":"#ffffff"},
	"currency":"EUR","earn":{"points_per_unit":1},"tiers":[{"name":"Member","threshold":0}],
	"default_locale":"en","locales":{"en":{"program_name":"Bakery"}}}`

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSeedNeverOverwritesAnAPIEdit(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := open(t)
		svc := newService(t, st, programs.Config{})
		if rec := record(t, st, "demo"); rec.Version != 1 || rec.CardsMarkedVersion != 1 {
			t.Errorf("seeded demo: version %d, cards marked %d; want 1 and 1 (its cards were built from the template)", rec.Version, rec.CardsMarkedVersion)
		}
		if _, err := svc.Patch(ctx, "demo", 1, []byte(`{"name":"Edited"}`)); err != nil {
			t.Fatalf("Patch = %v", err)
		}
		if _, err := svc.PutImage(ctx, "demo", 0, "icon", pngOf(t, 29, 29)); err != nil {
			t.Fatalf("PutImage = %v", err)
		}
		// Every start seeds again, on this instance and on a new one.
		again := newService(t, open(t), programs.Config{})
		if err := svc.Seed(ctx, []*loyalty.Program{demoTemplate(t)}); err != nil {
			t.Fatalf("Seed again = %v", err)
		}
		for name, s := range map[string]*programs.Service{"the first service": svc, "a new service": again} {
			p, err := s.Catalog().Get("demo")
			if err != nil || p.Name != "Edited" || p.Version != 3 || !bytes.Equal(p.Files["icon.png"], pngOf(t, 29, 29)) {
				t.Errorf("%s after seeding again: %+v, %v; want the edited name and icon at version 3", name, p, err)
			}
		}
		if rec := record(t, st, "demo"); rec.Version != 3 {
			t.Errorf("stored version after seeding again = %d, want 3", rec.Version)
		}
	})
}

func TestFailedChangesWriteNothing(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := open(t)
		svc := newService(t, st, programs.Config{})
		before := record(t, st, "demo")
		imgs, err := st.ProgramImages(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		var ve *balances.ValidationError
		for _, c := range []struct {
			name   string
			change func() error
			is     func(error) bool
		}{
			{"an invalid patch", func() error {
				_, err := svc.Patch(ctx, "demo", 0, []byte(`{"colors":{"background":"red"},"expiry":{"after_days":-1}}`))
				return err
			}, func(err error) bool { return errors.As(err, &ve) && len(ve.Fields) == 2 }},
			{"a patch changing the id", func() error {
				_, err := svc.Patch(ctx, "demo", 0, []byte(`{"id":"other"}`))
				return err
			}, func(err error) bool { return errors.As(err, &ve) && ve.Fields[0].Field == "id" }},
			{"a malformed patch", func() error { _, err := svc.Patch(ctx, "demo", 0, []byte(`{`)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrMalformedJSON) }},
			{"a stale patch", func() error { _, err := svc.Patch(ctx, "demo", 7, []byte(`{"name":"x"}`)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrVersionMismatch) }},
			{"a patch of an unknown program", func() error { _, err := svc.Patch(ctx, "nope", 0, []byte(`{"name":"x"}`)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrProgramNotFound) }},
			{"a wrong-size image", func() error { _, err := svc.PutImage(ctx, "demo", 0, "icon", pngOf(t, 10, 10)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrInvalidImage) }},
			{"not a PNG", func() error { _, err := svc.PutImage(ctx, "demo", 0, "logo", []byte("text")); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrInvalidImage) }},
			{"the strip of an unknown tier", func() error {
				_, err := svc.PutImage(ctx, "demo", 0, "strip-Platinum", pngOf(t, 375, 123))
				return err
			}, func(err error) bool { return errors.Is(err, loyalty.ErrInvalidImage) }},
			{"an unknown image name", func() error { _, err := svc.PutImage(ctx, "demo", 0, "banner", pngOf(t, 29, 29)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrInvalidImage) }},
			{"a stale image", func() error { _, err := svc.PutImage(ctx, "demo", 2, "icon", pngOf(t, 29, 29)); return err },
				func(err error) bool { return errors.Is(err, loyalty.ErrVersionMismatch) }},
		} {
			err := c.change()
			if err == nil || !c.is(err) {
				t.Errorf("%s: err = %v, not the expected kind", c.name, err)
			}
			after := record(t, st, "demo")
			if after.Version != before.Version || !bytes.Equal(after.Definition, before.Definition) {
				t.Errorf("%s wrote: version %d -> %d", c.name, before.Version, after.Version)
			}
			now, err := st.ProgramImages(ctx, "demo")
			if err != nil || len(now) != len(imgs) || !bytes.Equal(now["icon.png"], imgs["icon.png"]) {
				t.Errorf("%s changed the images (%v)", c.name, err)
			}
		}
		if p, _ := svc.Catalog().Get("demo"); p.Version != before.Version {
			t.Errorf("catalog after failed changes holds version %d, want %d", p.Version, before.Version)
		}
	})
}

func TestWorkMarksEveryLiveCardOncePerChange(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := open(t)
		var batches atomic.Int32
		svc := newService(t, st, programs.Config{Batch: 2, OnMarked: func() { batches.Add(1) }})
		var live []string
		for range 5 {
			live = append(live, storetest.NewMember(t, st, "demo").ID)
		}
		erased := storetest.NewMember(t, st, "demo").ID
		if err := st.EraseMember(ctx, erased); err != nil {
			t.Fatal(err)
		}
		versions := func() map[string]int64 {
			out := map[string]int64{}
			for _, id := range append([]string{erased}, live...) {
				m, err := st.Member(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				out[id] = m.Account.PassVersion
			}
			return out
		}
		// A seeded programme marks nothing.
		start := versions()
		if err := svc.Work(ctx); err != nil {
			t.Fatalf("Work = %v", err)
		}
		if got := versions(); got[live[0]] != start[live[0]] || batches.Load() != 0 {
			t.Fatalf("Work after seeding marked cards (%d batches)", batches.Load())
		}

		for change := 1; change <= 2; change++ {
			before := versions()
			if _, err := svc.Patch(ctx, "demo", 0, []byte(`{"description":"change `+string(rune('0'+change))+`"}`)); err != nil {
				t.Fatal(err)
			}
			batches.Store(0)
			for range 2 { // a second run finds nothing left to do
				if err := svc.Work(ctx); err != nil {
					t.Fatalf("Work = %v", err)
				}
			}
			after := versions()
			for _, id := range live {
				if after[id] != before[id]+1 {
					t.Errorf("change %d: card %s pass version %d -> %d, want one mark", change, id, before[id], after[id])
				}
				sts, err := st.SyncStates(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range sts {
					if s.WantedVersion != after[id] || s.State != loyalty.SyncPending {
						t.Errorf("change %d: card %s %s sync %+v, want pending at %d", change, id, s.Channel, s, after[id])
					}
				}
			}
			if after[erased] != before[erased] {
				t.Errorf("change %d: the erased member's card was marked", change)
			}
			if n := batches.Load(); n != 3 {
				t.Errorf("change %d: %d batches reported, want 3 (five cards, two a batch)", change, n)
			}
			if rec := record(t, st, "demo"); rec.CardsMarkedVersion != rec.Version {
				t.Errorf("change %d: cards marked for version %d, program at %d", change, rec.CardsMarkedVersion, rec.Version)
			}
		}
	})
}

func TestRefreshFollowsAnotherInstance(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		a := newService(t, open(t), programs.Config{})
		b := newService(t, open(t), programs.Config{})
		if _, err := a.Patch(ctx, "demo", 1, []byte(`{"colors":{"background":"#000080"}}`)); err != nil {
			t.Fatal(err)
		}
		if p, _ := b.Catalog().Get("demo"); p.Version != 1 {
			t.Fatalf("b holds version %d before refreshing, want 1", p.Version)
		}
		if err := b.Refresh(ctx); err != nil {
			t.Fatalf("Refresh = %v", err)
		}
		if p, _ := b.Catalog().Get("demo"); p.Version != 2 || p.Colors.Background != "#000080" {
			t.Errorf("b after Refresh: version %d, background %s; want 2, #000080", p.Version, p.Colors.Background)
		}
		// A programme created on a, and a card read with a newer version
		// than b holds (Catalog.Fresh), reach b too.
		created, err := a.Create(ctx, []byte(bakery))
		if err != nil {
			t.Fatalf("Create = %v", err)
		}
		if _, ok := created.Files["icon.png"]; ok {
			t.Errorf("Create without a placeholder answered an icon")
		}
		if _, err := a.Patch(ctx, "bakery", 1, []byte(`{"name":"Bakery 2"}`)); err != nil {
			t.Fatal(err)
		}
		p, err := b.Catalog().Fresh(ctx, "bakery", 2)
		if err != nil || p.Name != "Bakery 2" {
			t.Errorf("b.Catalog().Fresh(bakery, 2) = %+v, %v; want version 2", p, err)
		}
	})
}

func TestCreateStartsWithThePlaceholder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.OpenSQLite(t, store.Options{})
	icon := pngOf(t, 29, 29)
	svc := newService(t, st, programs.Config{Placeholder: map[string][]byte{"icon.png": icon}})
	body := []byte(bakery)
	p, err := svc.Create(ctx, body)
	if err != nil || p.Version != 1 || !bytes.Equal(p.Files["icon.png"], icon) {
		t.Fatalf("Create = %+v, %v; want version 1 with the placeholder icon", p, err)
	}
	var ve *balances.ValidationError
	if _, err := svc.Create(ctx, body); !errors.As(err, &ve) || ve.Fields[0].Field != "id" {
		t.Errorf("Create(taken id) = %v, want a validation error naming id", err)
	}
	if got, err := svc.Catalog().Get("bakery"); err != nil || got.Version != 1 {
		t.Errorf("catalog after Create = %+v, %v", got, err)
	}
}

// countingStore counts the image reads of a store.
type countingStore struct {
	*store.Store
	images atomic.Int32
}

func (c *countingStore) ProgramImages(ctx context.Context, id string) (map[string][]byte, error) {
	c.images.Add(1)
	return c.Store.ProgramImages(ctx, id)
}

// TestCardsAfterAChangeLoadTheProgramOnce: after a change made on another
// instance, every card rendered here asks for the new version at once;
// the images are read once, not once per card.
func TestCardsAfterAChangeLoadTheProgramOnce(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		a := newService(t, open(t), programs.Config{})
		cs := &countingStore{Store: open(t)}
		b, err := programs.New(programs.Config{Store: cs, Catalog: loyalty.NewCatalog()})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Patch(ctx, "demo", 1, []byte(`{"colors":{"background":"#000080"}}`)); err != nil {
			t.Fatal(err)
		}
		cs.images.Store(0)
		const cards = 20
		var wg sync.WaitGroup
		errs := make(chan error, cards)
		for range cards {
			wg.Go(func() {
				p, err := b.Catalog().Fresh(ctx, "demo", 2)
				if err == nil && p.Colors.Background != "#000080" {
					err = errors.New("background " + p.Colors.Background)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Fresh(demo, 2) = %v, want version 2", err)
			}
		}
		if n := cs.images.Load(); n != 1 {
			t.Errorf("%d concurrent card renders read the images %d times, want once", cards, n)
		}
	})
}
