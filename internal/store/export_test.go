package store

import "context"

// SetBeforeCommit makes every write transaction of s call f, with the
// write's context, just before it commits. Call it before s is shared.
func (s *Store) SetBeforeCommit(f func(ctx context.Context)) { s.beforeCommit = f }
