package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// claimDueWhere are the SQLite card_sync rows due on channel $1 at $2.
const claimDueWhere = `channel = $1 AND wanted_version > synced_version AND state <> 'error' AND next_attempt_at <= $2`

// ClaimDue claims up to limit dirty cards of a channel that are due
// (wanted_version > synced_version, not in error, next attempt due), oldest
// due first, and leases them: their next attempt moves to now+lease in the
// same transaction, so no other worker claims them before the lease ends.
// The jobs record their owner (Options.Instance): when that instance dies,
// internal/lease releases them at once (ReleaseInstances); a worker without
// an owner leaves its jobs to be claimed again after the lease.
// On PostgreSQL rows locked by another claimer are skipped, so instances
// sharing the database never claim the same job.
//
// Cards due at the same time (a message to a whole program) come in a
// fixed order that an index gives without sorting: on PostgreSQL by member
// (index card_sync_claim), on SQLite in the order the cards were created
// (index card_sync_due, whose entries end with the rowid). The SQLite order
// also keeps a batch on few table pages, so its commits stay small.
func (s *Store) ClaimDue(ctx context.Context, channel string, limit int, lease time.Duration) ([]SyncJob, error) {
	if limit <= 0 {
		return []SyncJob{}, nil
	}
	if s.dialect == DialectPostgres {
		return s.claimDuePostgres(ctx, channel, limit, lease)
	}
	now := s.clock()
	jobs := []SyncJob{}
	due, err := s.anyDue(ctx, `SELECT 1 FROM card_sync WHERE `+claimDueWhere+` LIMIT 1`, channel, now)
	if err != nil || !due {
		return jobs, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT rowid, member_id, wanted_version, attempts FROM card_sync
			WHERE `+claimDueWhere+`
			ORDER BY next_attempt_at, rowid
			LIMIT $3`, channel, now, limit)
		if err != nil {
			return fmt.Errorf("select due: %w", err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			j := SyncJob{Channel: channel}
			if err := rows.Scan(&id, &j.MemberID, &j.WantedVersion, &j.Attempts); err != nil {
				return fmt.Errorf("select due: %w", err)
			}
			ids = append(ids, id)
			jobs = append(jobs, j)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("select due: %w", err)
		}
		rows.Close()
		if len(jobs) == 0 {
			return nil
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE card_sync SET next_attempt_at = $1, updated_at = $2, lease_owner = $4
			WHERE rowid IN (SELECT value FROM json_each($3))`, now.Add(lease), now, string(list), s.instance); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due %s jobs: %w", channel, err)
	}
	return jobs, nil
}

// Complete records that a job's version was delivered. The row's synced
// version never goes down; when a newer version is wanted meanwhile, the row
// stays pending and is due at once, else it is ok.
func (s *Store) Complete(ctx context.Context, job SyncJob) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE card_sync SET
				synced_version = CASE WHEN $3 > synced_version THEN $3 ELSE synced_version END,
				attempts = 0,
				last_error = '',
				state = CASE WHEN wanted_version > $3 AND wanted_version > synced_version THEN 'pending' ELSE 'ok' END,
				next_attempt_at = CASE WHEN wanted_version > $3 AND wanted_version > synced_version THEN $4 ELSE next_attempt_at END,
				updated_at = $4,
				lease_owner = NULL
			WHERE member_id = $1 AND channel = $2`,
			job.MemberID, job.Channel, job.WantedVersion, now)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("complete %s job of %s: %w", job.Channel, job.MemberID, err)
	}
	return nil
}

// Fail records a failed delivery: one more attempt, the error text and when
// to try again. giveUp puts the row in the error state, where it stays until
// ResetSync or the card's next change; but a row whose wanted version moved
// past the job's stays pending, so the newer change gets its own tries.
func (s *Store) Fail(ctx context.Context, job SyncJob, errText string, retryAt time.Time, giveUp bool) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE card_sync SET
				attempts = attempts + 1,
				last_error = $3,
				next_attempt_at = $4,
				state = CASE WHEN $5 AND wanted_version <= $6 THEN 'error' ELSE state END,
				updated_at = $7,
				lease_owner = NULL
			WHERE member_id = $1 AND channel = $2`,
			job.MemberID, job.Channel, errText, retryAt.UTC().Truncate(time.Microsecond), giveUp, job.WantedVersion, now)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("fail %s job of %s: %w", job.Channel, job.MemberID, err)
	}
	return nil
}

// ResetSync clears a card's error state on a channel: attempts and error go,
// and the row is due at once if a version is still to deliver. An unknown
// card is ErrNotFound.
func (s *Store) ResetSync(ctx context.Context, memberID, channel string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE card_sync SET
				state = CASE WHEN wanted_version > synced_version THEN 'pending' ELSE 'ok' END,
				attempts = 0,
				last_error = '',
				next_attempt_at = $3,
				updated_at = $3,
				lease_owner = NULL
			WHERE member_id = $1 AND channel = $2`,
			memberID, channel, now)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("reset %s sync of %s: %w", channel, memberID, err)
	}
	return nil
}

// oneRow is ErrNotFound when an update touched no row.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SyncStats answers, for a channel, how many cards wait for delivery, how
// long the oldest has been waiting, and how many are in error.
func (s *Store) SyncStats(ctx context.Context, channel string) (waiting int64, oldest time.Duration, errored int64, err error) {
	var since time.Time
	err = s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*), min(dirty_since) FROM card_sync
			WHERE channel = $1 AND wanted_version > synced_version AND state <> 'error'`, channel).
			Scan(&waiting, ts{&since}); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM card_sync WHERE channel = $1 AND state = 'error'`, channel).
			Scan(&errored)
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s sync stats: %w", channel, err)
	}
	if !since.IsZero() {
		oldest = max(0, s.clock().Sub(since))
	}
	return waiting, oldest, errored, nil
}

// SyncStates answers a member's card states, one per channel.
func (s *Store) SyncStates(ctx context.Context, memberID string) ([]SyncState, error) {
	out, err := syncStates(ctx, s.rd, memberID)
	if err != nil {
		return nil, fmt.Errorf("sync states of %s: %w", memberID, translate(err))
	}
	return out, nil
}

func syncStates(ctx context.Context, q queryer, memberID string) ([]SyncState, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, updated_at
		FROM card_sync WHERE member_id = $1`, memberID)
	if err != nil {
		return nil, fmt.Errorf("sync states: %w", err)
	}
	defer rows.Close()
	out := []SyncState{}
	for rows.Next() {
		var st SyncState
		if err := rows.Scan(&st.MemberID, &st.Channel, &st.WantedVersion, &st.SyncedVersion, &st.Attempts,
			ts{&st.NextAttemptAt}, &st.LastError, &st.State, ts{&st.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("sync states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sync states: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel < out[j].Channel })
	return out, nil
}
