package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// This file holds the sync engine's batch methods: a whole claimed batch is
// looked up and recorded in one statement each, so that a program-wide
// change (a merchant message to every card) costs a few statements per
// batch of cards rather than a few per card.

// inList answers SQL testing col against the strings bound as parameter $n,
// and the argument to bind: an array on PostgreSQL, a JSON array read with
// json_each on SQLite. Either way the statement text does not depend on the
// number of values, so it is prepared once.
func (s *Store) inList(col string, n int, vals []string) (string, any, error) {
	if s.dialect == DialectPostgres {
		return col + " = ANY($" + strconv.Itoa(n) + "::text[])", vals, nil
	}
	b, err := json.Marshal(vals)
	if err != nil {
		return "", nil, err
	}
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))", string(b), nil
}

// claimDuePostgres is ClaimDue in one statement: it locks the due rows it
// takes (skipping rows another claimer holds), leases them and answers
// them, in one round trip and one commit.
func (s *Store) claimDuePostgres(ctx context.Context, channel string, limit int, lease time.Duration) ([]SyncJob, error) {
	now := s.clock()
	rows, err := s.w.QueryContext(ctx, `
		UPDATE card_sync SET next_attempt_at = $3, updated_at = $4, lease_owner = $5
		FROM (
			SELECT member_id, next_attempt_at FROM card_sync
			WHERE channel = $1 AND wanted_version > synced_version AND state <> 'error' AND next_attempt_at <= $4
			ORDER BY next_attempt_at, member_id
			LIMIT $2 FOR UPDATE SKIP LOCKED
		) AS due
		WHERE card_sync.channel = $1 AND card_sync.member_id = due.member_id
		RETURNING card_sync.member_id, card_sync.wanted_version, card_sync.attempts, due.next_attempt_at`,
		channel, limit, now.Add(lease), now, s.instance)
	if err != nil {
		return nil, fmt.Errorf("claim due %s jobs: %w", channel, translate(err))
	}
	defer rows.Close()
	type claimed struct {
		job SyncJob
		due time.Time
	}
	var got []claimed
	for rows.Next() {
		c := claimed{job: SyncJob{Channel: channel}}
		if err := rows.Scan(&c.job.MemberID, &c.job.WantedVersion, &c.job.Attempts, ts{&c.due}); err != nil {
			return nil, fmt.Errorf("claim due %s jobs: %w", channel, err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due %s jobs: %w", channel, translate(err))
	}
	// RETURNING has no order: oldest due first, as on SQLite.
	sort.Slice(got, func(i, j int) bool {
		if !got[i].due.Equal(got[j].due) {
			return got[i].due.Before(got[j].due)
		}
		return got[i].job.MemberID < got[j].job.MemberID
	})
	jobs := make([]SyncJob, len(got))
	for i, c := range got {
		jobs[i] = c.job
	}
	return jobs, nil
}

// CompleteMany records that several jobs' versions were delivered, in one
// statement and one transaction (one commit, so one fsync, for a batch),
// with Complete's rules for each: the synced version never goes down, and
// a row whose wanted version moved past the job's stays pending and is due
// at once. Jobs whose row is gone are skipped. A card listed twice counts
// with its greatest version.
func (s *Store) CompleteMany(ctx context.Context, jobs []SyncJob) error {
	if len(jobs) == 0 {
		return nil
	}
	type key struct{ member, channel string }
	idx := make(map[key]int, len(jobs))
	var members, channels []string
	var versions []int64
	for _, j := range jobs {
		k := key{j.MemberID, j.Channel}
		if i, dup := idx[k]; dup {
			versions[i] = max(versions[i], j.WantedVersion)
			continue
		}
		idx[k] = len(members)
		members = append(members, j.MemberID)
		channels = append(channels, j.Channel)
		versions = append(versions, j.WantedVersion)
	}
	now := s.clock()
	// The SET expressions read the row as it was before the update, as in
	// Complete.
	const set = `
			synced_version = CASE WHEN j.v > card_sync.synced_version THEN j.v ELSE card_sync.synced_version END,
			attempts = 0,
			last_error = '',
			state = CASE WHEN card_sync.wanted_version > j.v AND card_sync.wanted_version > card_sync.synced_version THEN 'pending' ELSE 'ok' END,
			next_attempt_at = CASE WHEN card_sync.wanted_version > j.v AND card_sync.wanted_version > card_sync.synced_version THEN $1 ELSE card_sync.next_attempt_at END,
			updated_at = $1,
			lease_owner = NULL`
	var (
		query string
		args  []any
	)
	if s.dialect == DialectPostgres {
		query = `UPDATE card_sync SET ` + set + `
			FROM unnest($2::text[], $3::text[], $4::bigint[]) AS j(member_id, channel, v)
			WHERE card_sync.member_id = j.member_id AND card_sync.channel = j.channel`
		args = []any{now, members, channels, versions}
	} else {
		rows := make([][3]any, len(members))
		for i := range members {
			rows[i] = [3]any{members[i], channels[i], versions[i]}
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return fmt.Errorf("complete %d jobs: %w", len(jobs), err)
		}
		// j drives the join: one primary key lookup per job.
		query = `UPDATE card_sync SET ` + set + `
			FROM (SELECT value ->> 0 AS member_id, value ->> 1 AS channel, value ->> 2 AS v FROM json_each($2)) AS j
			WHERE card_sync.member_id = j.member_id AND card_sync.channel = j.channel`
		args = []any{now, string(b)}
	}
	var err error
	if s.dialect == DialectPostgres {
		// One statement: atomic without a transaction's BEGIN and COMMIT
		// round trips.
		_, err = s.w.ExecContext(ctx, query, args...)
		err = translate(err)
	} else {
		err = s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, query, args...)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("complete %d jobs: %w", len(jobs), err)
	}
	return nil
}

// RegistrationsForMembers answers the devices registered for each of the
// members' passes, oldest first, in one query; a member without any has no
// entry.
func (s *Store) RegistrationsForMembers(ctx context.Context, memberIDs []string) (map[string][]Registration, error) {
	out := make(map[string][]Registration, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	cond, arg, err := s.inList("member_id", 1, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("registrations of %d members: %w", len(memberIDs), err)
	}
	rows, err := s.rd.QueryContext(ctx, `
		SELECT device_id, push_token, pass_type_id, member_id, created_at, updated_at
		FROM registrations WHERE `+cond+` ORDER BY created_at, device_id, pass_type_id`, arg)
	if err != nil {
		return nil, fmt.Errorf("registrations of %d members: %w", len(memberIDs), translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var r Registration
		if err := rows.Scan(&r.DeviceID, &r.PushToken, &r.PassTypeID, &r.MemberID, ts{&r.CreatedAt}, ts{&r.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("registrations of %d members: %w", len(memberIDs), err)
		}
		out[r.MemberID] = append(out[r.MemberID], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registrations of %d members: %w", len(memberIDs), translate(err))
	}
	return out, nil
}

// NextDue answers when the earliest card of a channel that waits for
// delivery (not in error) is due, leased cards included; ok is false when
// none waits. The sync engine sleeps until then rather than a whole poll,
// so a card is pushed as soon as its debounce ends.
func (s *Store) NextDue(ctx context.Context, channel string) (due time.Time, ok bool, err error) {
	err = s.rd.QueryRowContext(ctx, `
		SELECT min(next_attempt_at) FROM card_sync
		WHERE channel = $1 AND wanted_version > synced_version AND state <> 'error'`, channel).Scan(ts{&due})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due %s card: %w", channel, translate(err))
	}
	return due, !due.IsZero(), nil
}
