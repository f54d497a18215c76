// Package programs keeps passd's loyalty programmes as data: it seeds them
// from the templates once, answers them from an in-memory catalog that
// follows the database (so a change made on one instance reaches every
// other), applies the merchant's changes (a JSON merge patch, an image)
// through the domain's validation and the store's versioned rows, and then
// brings every card of the programme up to date: its worker marks the
// cards in short batches, so tills are never held up, and updates the
// programme's Google Wallet class.
//
// Where it sits: internal/api calls it, internal/server runs its worker;
// it uses internal/loyalty for every rule and internal/store (through the
// small interfaces below) to persist.
package programs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit"
)

// Rows is what the service needs of the store's programme rows.
type Rows interface {
	SeedProgram(ctx context.Context, rec store.ProgramRecord) (bool, error)
	CreateProgram(ctx context.Context, rec store.ProgramRecord) error
	Program(ctx context.Context, id string) (store.ProgramRecord, error)
	Programs(ctx context.Context) ([]store.ProgramRecord, error)
	ProgramImages(ctx context.Context, id string) (map[string][]byte, error)
	UpdateProgram(ctx context.Context, id string, ifVersion int64, apply func(store.ProgramRecord) (store.ProgramUpdate, error)) (store.ProgramRecord, error)
}

// Marks is what the worker needs to bring cards and classes up to date.
type Marks interface {
	ProgramsToMark(ctx context.Context) ([]string, error)
	MarkProgramCards(ctx context.Context, program string, limit int) (marked int, done bool, err error)
	ProgramClassesDue(ctx context.Context) ([]store.ProgramRecord, error)
	MarkProgramClassSynced(ctx context.Context, id string, version int64) error
}

// Store is both.
type Store interface {
	Rows
	Marks
}

// Config holds the Service's dependencies.
type Config struct {
	Store   Store
	Catalog *loyalty.Catalog
	// Placeholder holds the files a new programme starts with (the icon
	// every Apple pass needs), until the merchant uploads its own.
	Placeholder map[string][]byte
	// OnMarked is called after each batch of cards marked, so the sync
	// engine delivers them at once rather than at its next poll.
	OnMarked func()
	// SyncClass updates a programme's Google Wallet class; nil when Google
	// Wallet is off.
	SyncClass func(ctx context.Context, p *loyalty.Program) error
	Logger    *slog.Logger
	// Batch is how many cards one short transaction marks (default 100).
	Batch int
	// Poll is how often the worker looks for work and for changes made by
	// other instances (default 2 s).
	Poll time.Duration
}

// Service is the programmes' home. It is safe for concurrent use.
type Service struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	loadMu sync.Mutex // one load of a programme at a time
}

// Defaults of Config. DefaultBatch keeps a till's earn under 100 ms while
// a programme's cards are marked: on SQLite every batch holds the one
// writer, and at 500 cards the earns' p99 was 150-260 ms, at 100 cards
// under 40 ms, for about a tenth fewer cards marked a second
// (store.BenchmarkProgramChange, docs/benchmarks.md).
const (
	DefaultBatch = 100
	DefaultPoll  = 2 * time.Second
)

// New returns the programmes service and makes the catalog load programmes
// it does not hold (or holds too old a version of) from the store.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("programs: a store and a catalog are required")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.OnMarked == nil {
		cfg.OnMarked = func() {}
	}
	s := &Service{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	cfg.Catalog.SetLoader(s.Load)
	return s, nil
}

// Catalog is the in-memory set of programmes the service keeps current.
func (s *Service) Catalog() *loyalty.Catalog { return s.cfg.Catalog }

// Seed creates each template's programme in the database when its id is
// not there yet (templates never overwrite a programme: later edits
// through the API stay), then loads every stored programme into the
// catalog.
func (s *Service) Seed(ctx context.Context, templates []*loyalty.Program) error {
	for _, p := range templates {
		def, err := p.Definition()
		if err != nil {
			return fmt.Errorf("seed program %s: %w", p.ID, err)
		}
		created, err := s.cfg.Store.SeedProgram(ctx, store.ProgramRecord{ID: p.ID, Definition: def, Images: maps.Clone(p.Files)})
		if err != nil {
			return fmt.Errorf("seed program %s: %w", p.ID, err)
		}
		if created {
			s.log.Info("program created from its template", "program", p.ID, "template", p.Source)
		}
	}
	return s.Refresh(ctx)
}

// Refresh loads every programme the catalog lacks or holds an older
// version of (another instance created or changed it).
func (s *Service) Refresh(ctx context.Context) error {
	recs, err := s.cfg.Store.Programs(ctx)
	if err != nil {
		return fmt.Errorf("list programs: %w", err)
	}
	var errs []error
	for _, r := range recs {
		if _, err := s.cfg.Catalog.Fresh(ctx, r.ID, r.Version); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Load reads programme id from the store, as it stands now, and holds it
// in the catalog. After a change made on another instance every card
// rendered here asks for the programme at once; they wait in turn, and
// each after the first finds the catalog holding the stored version and
// reads no images.
func (s *Service) Load(ctx context.Context, id string) (*loyalty.Program, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	rec, err := s.cfg.Store.Program(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("program %q: %w", id, loyalty.ErrProgramNotFound)
	}
	if err != nil {
		return nil, err
	}
	if held, err := s.cfg.Catalog.Get(id); err == nil && held.Version >= rec.Version {
		return held, nil
	}
	files, err := s.cfg.Store.ProgramImages(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := rebuild(rec, files)
	if err != nil {
		return nil, err
	}
	s.cfg.Catalog.Put(p)
	return p, nil
}

// rebuild makes the domain's programme of a stored row. A stored
// definition always passed validation when written; one that no longer
// does (a bound tightened since) is an error naming the programme.
func rebuild(rec store.ProgramRecord, files map[string][]byte) (*loyalty.Program, error) {
	p, err := loyalty.StoredProgram(rec.Definition, files, rec.Version, rec.CreatedAt, rec.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("stored program %s version %d: %w", rec.ID, rec.Version, err)
	}
	return p, nil
}

// Create adds a programme from the API's program object. It starts with
// the placeholder files (the icon) until the merchant uploads its own.
func (s *Service) Create(ctx context.Context, body []byte) (*loyalty.Program, error) {
	p, err := loyalty.NewProgramFromJSON(body)
	if err != nil {
		return nil, err
	}
	def, err := p.Definition()
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.CreateProgram(ctx, store.ProgramRecord{ID: p.ID, Definition: def, Images: maps.Clone(s.cfg.Placeholder)})
	if errors.Is(err, store.ErrDuplicate) {
		return nil, validation("id", "a program with this id exists")
	}
	if err != nil {
		return nil, fmt.Errorf("create program %s: %w", p.ID, err)
	}
	return s.stored(ctx, p.ID)
}

// Patch applies a JSON merge patch (RFC 7396) to programme id. ifVersion,
// when not zero, must be the current version (If-Match), else
// loyalty.ErrVersionMismatch. An invalid result is a
// *balances.ValidationError naming every field, and nothing is written.
func (s *Service) Patch(ctx context.Context, id string, ifVersion int64, patch []byte) (*loyalty.Program, error) {
	_, err := s.cfg.Store.UpdateProgram(ctx, id, ifVersion, func(cur store.ProgramRecord) (store.ProgramUpdate, error) {
		p, err := loyalty.StoredProgram(cur.Definition, nil, cur.Version, cur.CreatedAt, cur.UpdatedAt)
		if err != nil {
			return store.ProgramUpdate{}, err
		}
		next, err := p.Patched(patch)
		if err != nil {
			return store.ProgramUpdate{}, err
		}
		def, err := next.Definition()
		return store.ProgramUpdate{Definition: def, RelookDormancy: loyalty.DormancyLooksEarlier(p, next),
			ReviewTiers: loyalty.TierRulesChanged(p, next)}, err
	})
	if err != nil {
		return nil, s.updateError(id, err)
	}
	return s.stored(ctx, id)
}

// Image names a programme may upload (PUT .../images/{name}): Apple's
// icon, logo and strip at each scale, a tier's own strip, and the square
// logo Google Wallet shows (GoogleLogo).
var imageName = regexp.MustCompile(`^(icon|logo|strip|strip-[^/@.]{1,64})(@2x|@3x)?$`)

// GoogleLogo is the image name of the square programme logo for Google
// Wallet (at least 660x660 px), used instead of Apple's wide logo.
const GoogleLogo = "google-logo"

// PutImage stores image name of programme id (a PNG), after checking it
// against its slot's sizes (loyalty.ErrInvalidImage). A tier's strip
// (strip-{tier}) must name a tier of the programme.
func (s *Service) PutImage(ctx context.Context, id string, ifVersion int64, name string, data []byte) (*loyalty.Program, error) {
	if err := checkImage(name, data); err != nil {
		return nil, err
	}
	_, err := s.cfg.Store.UpdateProgram(ctx, id, ifVersion, func(cur store.ProgramRecord) (store.ProgramUpdate, error) {
		if tier, ok := strings.CutPrefix(strings.TrimSuffix(strings.TrimSuffix(name, "@2x"), "@3x"), "strip-"); ok {
			p, err := loyalty.StoredProgram(cur.Definition, nil, cur.Version, cur.CreatedAt, cur.UpdatedAt)
			if err != nil {
				return store.ProgramUpdate{}, err
			}
			if !hasTier(p, tier) {
				return store.ProgramUpdate{}, fmt.Errorf("%w: %s: the program has no tier %q", loyalty.ErrInvalidImage, name, tier)
			}
		}
		return store.ProgramUpdate{PutImages: map[string][]byte{name + ".png": data}}, nil
	})
	if err != nil {
		return nil, s.updateError(id, err)
	}
	return s.stored(ctx, id)
}

func hasTier(p *loyalty.Program, name string) bool {
	for _, t := range p.Tiers {
		if t.Name == name {
			return true
		}
	}
	return false
}

// CheckImage checks an image against its slot's sizes as PutImage does,
// storing nothing: the console shows an upload in its preview only once
// it passes.
func (s *Service) CheckImage(name string, data []byte) error { return checkImage(name, data) }

// checkImage checks an upload against its slot: Apple's sizes for the
// pass images, Google's for the square logo.
func checkImage(name string, data []byte) error {
	var err error
	switch {
	case name == GoogleLogo:
		err = googlewallet.CheckSquareLogo(data)
	case imageName.MatchString(name):
		err = passkit.CheckImage(name, data)
	default:
		return fmt.Errorf("%w: %q is not an image name: use icon, logo, strip or strip-{tier} (each with @2x or @3x for larger screens), or %s", loyalty.ErrInvalidImage, name, GoogleLogo)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", loyalty.ErrInvalidImage, err)
	}
	return nil
}

// updateError words the store's answers to a change.
func (s *Service) updateError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("program %q: %w", id, loyalty.ErrProgramNotFound)
	}
	return err
}

// stored loads the programme as written, holds it in the catalog and
// wakes the worker to bring its cards up to date.
func (s *Service) stored(ctx context.Context, id string) (*loyalty.Program, error) {
	p, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cfg.Catalog.Put(p)
	s.Wake()
	return p, nil
}

// Wake makes the worker look for work now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run is the worker: until ctx ends it marks the cards of changed
// programmes in batches, updates their Google classes, and follows
// changes other instances made. Work a crash interrupted is resumed: the
// marks' cursor is in the database.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.Work(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("program worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Work does what is due now: follow other instances' changes, mark every
// card of each changed programme, update due Google classes.
func (s *Service) Work(ctx context.Context) error {
	var errs []error
	if err := s.Refresh(ctx); err != nil {
		errs = append(errs, err)
	}
	ids, err := s.cfg.Store.ProgramsToMark(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if err := s.markAll(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cfg.SyncClass != nil {
		if err := s.syncClasses(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// markAll marks programme id's cards batch by batch: each batch is its own
// short transaction, and the sync engine starts delivering after each.
func (s *Service) markAll(ctx context.Context, id string) error {
	total := 0
	for {
		n, done, err := s.cfg.Store.MarkProgramCards(ctx, id, s.cfg.Batch)
		if err != nil {
			return fmt.Errorf("mark cards of program %s: %w", id, err)
		}
		total += n
		if n > 0 {
			s.cfg.OnMarked()
		}
		if done {
			if total > 0 {
				s.log.Info("program change reaches its cards", "program", id, "cards", total)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// syncClasses updates every Google class whose programme changed since it
// was last delivered.
func (s *Service) syncClasses(ctx context.Context) error {
	due, err := s.cfg.Store.ProgramClassesDue(ctx)
	if err != nil {
		return fmt.Errorf("google classes due: %w", err)
	}
	var errs []error
	for _, r := range due {
		p, err := s.cfg.Catalog.Fresh(ctx, r.ID, r.Version)
		if err == nil {
			err = s.cfg.SyncClass(ctx, p)
		}
		if err == nil {
			err = s.cfg.Store.MarkProgramClassSynced(ctx, r.ID, p.Version)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("google class of program %s: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

func validation(field, msg string) error {
	v := &balances.ValidationError{}
	v.Add(field, msg)
	return v
}
