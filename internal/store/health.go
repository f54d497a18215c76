package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SyncHealth is how one channel's deliveries of a programme's cards are
// doing: cards waiting, how long the oldest has waited, cards given up.
type SyncHealth struct {
	Channel string
	Waiting int64
	Oldest  time.Duration
	Errored int64
}

// ProgramSyncHealth answers the sync health of program's cards per
// channel (the channels with nothing waiting or given up are left out).
// Its two reads follow the partial indexes of waiting and failed cards.
func (s *Store) ProgramSyncHealth(ctx context.Context, program string) ([]SyncHealth, error) {
	by := map[string]*SyncHealth{}
	var order []string
	get := func(ch string) *SyncHealth {
		if by[ch] == nil {
			by[ch] = &SyncHealth{Channel: ch}
			order = append(order, ch)
		}
		return by[ch]
	}
	now := s.clock()
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT c.channel, count(*), min(c.dirty_since) FROM card_sync c JOIN members m ON m.id = c.member_id
			WHERE m.program = $1 AND c.wanted_version > c.synced_version AND c.state <> 'error'
			GROUP BY c.channel ORDER BY c.channel`, program)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ch string
			var n int64
			var since time.Time
			if err := rows.Scan(&ch, &n, ts{&since}); err != nil {
				rows.Close()
				return err
			}
			h := get(ch)
			h.Waiting, h.Oldest = n, max(0, now.Sub(since))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `
			SELECT c.channel, count(*) FROM card_sync c JOIN members m ON m.id = c.member_id
			WHERE m.program = $1 AND c.state = 'error' GROUP BY c.channel ORDER BY c.channel`, program)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ch string
			var n int64
			if err := rows.Scan(&ch, &n); err != nil {
				return err
			}
			get(ch).Errored = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sync health of %s: %w", program, translate(err))
	}
	out := make([]SyncHealth, 0, len(order))
	for _, ch := range order {
		out = append(out, *by[ch])
	}
	return out, nil
}

// CountTierMembers answers how many live members of program are in tier.
func (s *Store) CountTierMembers(ctx context.Context, program, tier string) (int64, error) {
	var n int64
	if err := s.rd.QueryRowContext(ctx, `
		SELECT count(*) FROM members m JOIN accounts a ON a.member_id = m.id
		WHERE m.program = $1 AND m.erased_at IS NULL AND NOT a.erased AND a.tier = $2`, program, tier).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s members of %s: %w", tier, program, translate(err))
	}
	return n, nil
}
