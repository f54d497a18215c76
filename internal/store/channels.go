package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/passd/passd/internal/loyalty"
)

// This file keeps the sync rows in step with the channels that are on:
// a channel that is off (Google Wallet without an issuer) has no rows, so
// no card waits for it and no backlog grows; turning it on gives every
// card one row, due at once.

// newCardsSQL is the insert of a new member's sync rows, one per channel
// ($1 the member, $2 the pass version, $3 now).
func newCardsSQL(channels []string) string {
	if channels == nil {
		channels = loyalty.Channels()
	}
	rows := make([]string, len(channels))
	for i, ch := range channels {
		rows[i] = `($1, '` + ch + `', $2, 0, 0, $3, '', 'pending', $3, $3)`
	}
	return `
		INSERT INTO card_sync (member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, dirty_since, updated_at)
		VALUES ` + strings.Join(rows, ", ")
}

// EnableChannel gives every card that has no sync row on channel one,
// wanting the card's current version and due now, and answers how many it
// added: turning a channel on enqueues every card once, and doing it again
// adds nothing. Erased members' cards get none.
func (s *Store) EnableChannel(ctx context.Context, channel string) (int64, error) {
	now := s.clock()
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO card_sync (member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, dirty_since, updated_at)
			SELECT a.member_id, $1, a.pass_version, 0, 0, $2, '', 'pending', $2, $2 FROM accounts a
			WHERE NOT a.erased AND NOT EXISTS (SELECT 1 FROM card_sync c WHERE c.member_id = a.member_id AND c.channel = $1)`,
			channel, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enable %s sync: %w", channel, err)
	}
	return n, nil
}

// DisableChannel deletes every sync row of channel and answers how many
// it deleted: nothing waits for a channel that is off.
func (s *Store) DisableChannel(ctx context.Context, channel string) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM card_sync WHERE channel = $1`, channel)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("disable %s sync: %w", channel, err)
	}
	return n, nil
}
