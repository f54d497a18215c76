package store

import (
	"context"
	"database/sql"
	"fmt"
)

// A channel (Apple, Google) that is on has a card_sync row for every live
// member; one that is off has none, so nothing queues for it and its
// gauges stay empty. The server calls EnsureChannelRows for each channel
// that is on and DropChannelRows for one that is off, at start.

// EnsureChannelRows gives every live member that lacks one a pending row
// of channel, wanting the card's current version: after a channel is
// turned on, every card is delivered to it once. It answers how many rows
// it added (none when the channel was on already).
func (s *Store) EnsureChannelRows(ctx context.Context, channel string) (int64, error) {
	n, err := s.writeCount(ctx, `
		INSERT INTO card_sync (member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, dirty_since, updated_at)
		SELECT a.member_id, $1, a.pass_version, 0, 0, $2, '', 'pending', $2, $2
		FROM accounts a
		WHERE NOT a.erased AND NOT EXISTS (SELECT 1 FROM card_sync c WHERE c.member_id = a.member_id AND c.channel = $1)`,
		channel, s.clock())
	if err != nil {
		return 0, fmt.Errorf("add %s sync rows: %w", channel, err)
	}
	return n, nil
}

// DropChannelRows deletes every row of channel (a channel turned off) and
// answers how many there were.
func (s *Store) DropChannelRows(ctx context.Context, channel string) (int64, error) {
	n, err := s.writeCount(ctx, `DELETE FROM card_sync WHERE channel = $1`, channel)
	if err != nil {
		return 0, fmt.Errorf("drop %s sync rows: %w", channel, err)
	}
	return n, nil
}

// writeCount runs one statement in a write transaction and answers how
// many rows it touched.
func (s *Store) writeCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
