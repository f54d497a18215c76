package cards

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit"
)

// DefaultCacheBytes bounds the signed-pass cache: at ~10 KiB a pass, about
// 6,000 passes.
const DefaultCacheBytes = 64 << 20

// Service builds members' signed passes.
type Service struct {
	signer    *passkit.Signer
	store     *store.Store
	programs  *loyalty.Catalog
	secret    []byte
	publicURL string
	cache     *Cache

	filesMu sync.Mutex
	files   map[string]*passkit.FileSet // by program id + hash
}

// Config holds a Service's dependencies.
type Config struct {
	Signer     *passkit.Signer
	Store      *store.Store
	Programs   *loyalty.Catalog
	Secret     []byte
	PublicURL  string
	CacheBytes int
}

// New returns a card Service.
func New(cfg Config) *Service {
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	return &Service{signer: cfg.Signer, store: cfg.Store, programs: cfg.Programs, secret: cfg.Secret,
		publicURL: cfg.PublicURL, cache: NewCache(cfg.CacheBytes), files: map[string]*passkit.FileSet{}}
}

// Cache exposes the signed-pass cache (for metrics).
func (s *Service) Cache() *Cache { return s.cache }

// Signer is the pass signer.
func (s *Service) Signer() *passkit.Signer { return s.signer }

// Card gathers what m's pass shows.
func (s *Service) Card(ctx context.Context, m loyalty.MemberRow) (Card, error) {
	p, err := s.programs.Get(m.Program)
	if err != nil {
		return Card{}, err
	}
	c := Card{Member: m, Program: p}
	c.Message, _ = m.CardMessage()
	return c, nil
}

// Bundle answers the signed .pkpass of member m, from the cache when this
// version was signed before, and its Last-Modified time.
func (s *Service) Bundle(ctx context.Context, m loyalty.MemberRow) ([]byte, time.Time, error) {
	p, err := s.programs.Get(m.Program)
	if err != nil {
		return nil, time.Time{}, err
	}
	k := cacheKey{serial: m.ID, version: m.Account.PassVersion, template: p.Hash}
	data, err := s.cache.get(k, func() ([]byte, error) {
		c, err := s.Card(ctx, m)
		if err != nil {
			return nil, err
		}
		pass := Pass(c, s.secret, s.publicURL, s.signer.PassTypeID(), s.signer.TeamID())
		fs, err := s.programFiles(p)
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

// programFiles answers the files of a program's passes, prepared once per
// template version.
func (s *Service) programFiles(p *loyalty.Program) (*passkit.FileSet, error) {
	key := p.ID + "/" + p.Hash
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if f, ok := s.files[key]; ok {
		return f, nil
	}
	f, err := s.signer.PrepareFiles(Files(p))
	if err != nil {
		return nil, fmt.Errorf("pass files of %s: %w", p.ID, err)
	}
	s.files[key] = f
	return f, nil
}
