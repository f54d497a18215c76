package cards

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/memo"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit"
)

// DefaultCacheBytes bounds the signed-pass cache: at ~10 KiB a pass, about
// 800 passes. A pass is fetched again mostly right after it changed (a
// phone, then its owner's other devices), so a small cache serves those;
// a pass that fell out costs one signature again. 16 MiB put passd over
// 100 MB of RSS during a 100,000-card message on SQLite.
const DefaultCacheBytes = 8 << 20

// stampFileBytes bounds the prepared files of stamp cards: one set per
// programme version, strip, look and stamp count, about 10-30 KB each.
const stampFileBytes = 8 << 20

// Service builds members' signed passes.
type Service struct {
	signer    *passkit.Signer
	store     *store.Store
	programs  *loyalty.Catalog
	secret    []byte
	publicURL string
	cache     *Cache
	now       func() time.Time

	filesMu sync.Mutex
	files   map[string]programFileSets // by program id
	// stampFiles are the prepared files of stamp cards, whose strips are
	// drawn for their stamp count (StampStrip).
	stampFiles *memo.LRU[stampFilesKey, *passkit.FileSet]
}

// stampFilesKey names the files of the stamp cards that show filled of
// their programme's goal in one look.
type stampFilesKey struct {
	program, hash, strip string
	look                 loyalty.Colors
	filled               int
}

// programFileSets are the prepared files of one program version's passes,
// one set per strip they carry: the program's ("") and each tier's own.
// Only the latest version seen of a program is kept, so the sets are
// bounded by the programs and their tiers (loyalty.MaxTiers).
type programFileSets struct {
	hash string
	sets map[string]*passkit.FileSet // by StripTier
}

// Config holds a Service's dependencies.
type Config struct {
	Signer     *passkit.Signer
	Store      *store.Store
	Programs   *loyalty.Catalog
	Secret     []byte
	PublicURL  string
	CacheBytes int
	// Now is the clock (which vouchers have expired); time.Now when nil.
	Now func() time.Time
}

// New returns a card Service.
func New(cfg Config) *Service {
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{signer: cfg.Signer, store: cfg.Store, programs: cfg.Programs, secret: cfg.Secret,
		publicURL: cfg.PublicURL, cache: NewCache(cfg.CacheBytes), files: map[string]programFileSets{}, now: cfg.Now,
		stampFiles: memo.NewLRU(stampFileBytes, func(_ stampFilesKey, fs *passkit.FileSet) int { return fs.Size() })}
}

// Cache exposes the signed-pass cache (for metrics).
func (s *Service) Cache() *Cache { return s.cache }

// Signer is the pass signer.
func (s *Service) Signer() *passkit.Signer { return s.signer }

// Card gathers what m's pass shows.
func (s *Service) Card(ctx context.Context, m loyalty.MemberRow) (Card, error) {
	p, err := s.programs.Fresh(ctx, m.Program, m.ProgramVersion)
	if err != nil {
		return Card{}, err
	}
	return card(m, p, s.now()), nil
}

// card is what m's pass shows in program p at now.
func card(m loyalty.MemberRow, p *loyalty.Program, now time.Time) Card {
	c := Card{Member: m, Program: p, Vouchers: loyalty.ShownVouchers(m.Vouchers, now), Dormant: DormantMessage(m, p),
		Birthday: Greets(m, p, now)}
	c.Message, _ = m.CardMessage()
	return c
}

// Bundle answers the signed .pkpass of member m, from the cache when this
// version was signed before, and its Last-Modified time. The cache key
// holds all the bytes depend on: the member's pass version (every change
// of the account, its tier among them, raises it) and the program's hash
// (every change of the program, its tiers' colours and strips among them,
// changes it).
func (s *Service) Bundle(ctx context.Context, m loyalty.MemberRow) ([]byte, time.Time, error) {
	p, err := s.programs.Fresh(ctx, m.Program, m.ProgramVersion)
	if err != nil {
		return nil, time.Time{}, err
	}
	c := card(m, p, s.now())
	// The vouchers shown and the birthday greeting are in the key: a
	// voucher that expired since the
	// pass was signed drops out of the next bundle built (and the voucher
	// expiry job bumps the pass at that time, so the phone learns of it).
	k := cacheKey{serial: m.ID, version: m.Account.PassVersion, template: p.Hash, vouchers: len(c.Vouchers), birthday: c.Birthday}
	data, err := s.cache.get(k, func() ([]byte, error) {
		// Rendered from p, the program the key names, not a fresher one.
		pass := Pass(c, s.secret, s.publicURL, s.signer.PassTypeID(), s.signer.TeamID())
		fs, err := s.passFiles(p, m)
		if err != nil {
			return nil, err
		}
		b, err := s.signer.BuildBundle(&passkit.Bundle{Pass: pass, FileSet: fs})
		if err != nil {
			return nil, fmt.Errorf("sign pass: %w", err)
		}
		return b, nil
	})
	return data, m.PassModified, err
}

// passTier is the tier whose look m's pass has: none for a voided card.
func passTier(m loyalty.MemberRow) string {
	if m.Erased() {
		return ""
	}
	return m.Account.Tier
}

// passFiles answers the prepared files of m's pass: the programme's, or
// for a stamp card the same with its strips drawn for m's stamps.
func (s *Service) passFiles(p *loyalty.Program, m loyalty.MemberRow) (*passkit.FileSet, error) {
	tier := passTier(m)
	if p.Stamps == nil || m.Erased() {
		return s.programFiles(p, tier)
	}
	k := stampFilesKey{program: p.ID, hash: p.Hash, strip: StripTier(p, tier), look: p.TierLook(tier),
		filled: int(min(max(m.Account.Stamps, 0), int64(p.Stamps.Goal)))}
	return s.stampFiles.GetOrCompute(k, func() (*passkit.FileSet, error) {
		files := TierFiles(p, k.strip)
		for i, sc := range stripScales {
			drawn, err := StampStrip(k.filled, p.Stamps.Goal, i+1, k.look, files["strip"+sc])
			if err != nil {
				return nil, fmt.Errorf("pass files of %s: %w", p.ID, err)
			}
			files["strip"+sc] = drawn
		}
		fs, err := s.signer.PrepareFiles(files)
		if err != nil {
			return nil, fmt.Errorf("pass files of %s: %w", p.ID, err)
		}
		return fs, nil
	})
}

// programFiles answers the files of the passes of tier's members, prepared
// once per program version and strip (StripTier): tiers without a strip of
// their own share the program's set.
func (s *Service) programFiles(p *loyalty.Program, tier string) (*passkit.FileSet, error) {
	strip := StripTier(p, tier)
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	ps, ok := s.files[p.ID]
	if !ok || ps.hash != p.Hash {
		ps = programFileSets{hash: p.Hash, sets: map[string]*passkit.FileSet{}}
		s.files[p.ID] = ps
	}
	if f, ok := ps.sets[strip]; ok {
		return f, nil
	}
	f, err := s.signer.PrepareFiles(TierFiles(p, strip))
	if err != nil {
		return nil, fmt.Errorf("pass files of %s: %w", p.ID, err)
	}
	ps.sets[strip] = f
	return f, nil
}
