package loyalty

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Catalog is the set of programs passd serves, kept in memory: every card
// and request reads its program from here. Programs are immutable values;
// a change puts a new one. A program newer than the one held (another
// instance changed it) is loaded with the loader, see Fresh.
type Catalog struct {
	mu   sync.RWMutex
	byID map[string]*Program
	load func(ctx context.Context, id string) (*Program, error)
}

// NewCatalog answers a catalog holding ps.
func NewCatalog(ps ...*Program) *Catalog {
	c := &Catalog{byID: map[string]*Program{}}
	for _, p := range ps {
		c.Put(p)
	}
	return c
}

// Get answers the program with the given id.
func (c *Catalog) Get(id string) (*Program, error) {
	c.mu.RLock()
	p, ok := c.byID[id]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("program %q: %w", id, ErrProgramNotFound)
	}
	return p, nil
}

// IDs lists the program ids in order.
func (c *Catalog) IDs() []string {
	c.mu.RLock()
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	c.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// Put holds p, unless the catalog already holds a newer version of it.
func (c *Catalog) Put(p *Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.byID[p.ID]; ok && cur.Version > p.Version {
		return
	}
	c.byID[p.ID] = p
}

// SetLoader sets how Fresh loads a program the catalog holds too old a
// version of, or not at all.
func (c *Catalog) SetLoader(load func(ctx context.Context, id string) (*Program, error)) {
	c.mu.Lock()
	c.load = load
	c.mu.Unlock()
}

// Fresh answers program id at version or later: the held one when it is
// recent enough, else the loader's (which the catalog then holds). A card
// read with its program's version (MemberRow.ProgramVersion) is so built
// with that version's look even when another instance made the change.
func (c *Catalog) Fresh(ctx context.Context, id string, version int64) (*Program, error) {
	if !idPattern.MatchString(id) {
		// Not a programme id: no lookup (a NUL must not reach the store).
		return nil, fmt.Errorf("program %q: %w", id, ErrProgramNotFound)
	}
	c.mu.RLock()
	p, ok := c.byID[id]
	load := c.load
	c.mu.RUnlock()
	if ok && p.Version >= version {
		return p, nil
	}
	if load == nil {
		if ok {
			return p, nil
		}
		return nil, fmt.Errorf("program %q: %w", id, ErrProgramNotFound)
	}
	p, err := load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load program %s: %w", id, err)
	}
	c.Put(p)
	return c.Get(id)
}
