package store

import "context"

// SetBeforeCommit makes every write transaction of s call f, with the
// write's context, just before it commits. Call it before s is shared.
func (s *Store) SetBeforeCommit(f func(ctx context.Context)) { s.beforeCommit = f }

// HoldMemberBatches makes PostgreSQL's member reads run on lanes lanes and
// call f with each batch's size before it runs. Call it before s is shared.
func (s *Store) HoldMemberBatches(lanes int, f func(n int)) {
	s.members.lanes = lanes
	s.members.beforeBatch = f
}

// PendingMemberReads answers how many member reads wait for a lane.
func (s *Store) PendingMemberReads() int {
	s.members.mu.Lock()
	defer s.members.mu.Unlock()
	return len(s.members.pending)
}
