package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/passd/passd/internal/lease"
)

// This file is the store's half of claim ownership (internal/lease decides
// who is dead): the instances table, the heartbeats, and releasing a dead
// instance's claims.
//
// Any kind of claimed work takes part by having a nullable lease_owner
// column (with a partial index WHERE lease_owner IS NOT NULL), setting it
// to s.instance where it claims a row, clearing it where it records the
// outcome, and being listed in leasedTables. The sync jobs (card_sync) and
// the webhook deliveries do. Time-driven work (internal/automations) holds
// no lease: each item is done in one transaction.

// leasedTable is a table of claimed work: due is the column that holds a
// row's lease (the time it may be claimed again), which release sets to
// now.
type leasedTable struct{ table, due string }

// leasedTables lists every table of claimed work.
var leasedTables = []leasedTable{
	{table: "card_sync", due: "next_attempt_at"},
	{table: "webhook_deliveries", due: "next_at"},
}

// Heartbeat records inst as alive at inst.HeartbeatAt, inserting it the
// first time. On PostgreSQL it runs on a connection the store keeps for
// it, whose session it records: while that session lives, other instances
// know this one does (Instances' SessionGone). When that connection broke
// (the server restarted), the heartbeat moves to a fresh one.
func (s *Store) Heartbeat(ctx context.Context, inst lease.Instance) error {
	beat := inst.HeartbeatAt.UTC().Truncate(time.Microsecond)
	started := inst.StartedAt.UTC().Truncate(time.Microsecond)
	if s.dialect != DialectPostgres {
		err := s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO instances (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
				inst.ID, inst.Host, inst.PID, started, beat)
			return err
		})
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		return nil
	}
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	var err error
	for try := 0; try < 2; try++ {
		if s.session == nil {
			if s.session, err = s.w.Conn(ctx); err != nil {
				return fmt.Errorf("heartbeat: %w", translate(err))
			}
		}
		_, err = s.session.ExecContext(ctx, `
			INSERT INTO instances (id, host, pid, started_at, heartbeat_at, pg_pid, pg_backend_start)
			SELECT $1, $2, $3, $4, $5, pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()
			ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,
				pg_pid = excluded.pg_pid, pg_backend_start = excluded.pg_backend_start`,
			inst.ID, inst.Host, inst.PID, started, beat)
		if err == nil {
			return nil
		}
		// Whatever failed, the next try (now or at the next beat) starts
		// a new session: the old one may be dead.
		s.session.Close()
		s.session = nil
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("heartbeat: %w", translate(err))
}

// closeSession ends the heartbeat session, if any.
func (s *Store) closeSession() {
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	if s.session != nil {
		s.session.Close()
		s.session = nil
	}
}

// Instances lists the registered instances. On PostgreSQL SessionGone
// reports an instance whose heartbeat session has ended.
func (s *Store) Instances(ctx context.Context) ([]lease.Instance, error) {
	gone := `false`
	if s.dialect == DialectPostgres {
		gone = `pg_pid IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM pg_stat_activity p WHERE p.pid = i.pg_pid AND p.backend_start = i.pg_backend_start)`
	}
	out := []lease.Instance{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT id, host, pid, started_at, heartbeat_at, `+gone+` FROM instances i ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var in lease.Instance
			if err := rows.Scan(&in.ID, &in.Host, &in.PID, ts{&in.StartedAt}, ts{&in.HeartbeatAt}, &in.SessionGone); err != nil {
				return err
			}
			out = append(out, in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	return out, nil
}

// ReleaseInstances makes every claim owned by one of ids due now with no
// owner, in every table of claimed work, and forgets those instances; it
// answers how many claims it released. The store records owners but does
// not judge them: internal/lease decides who is dead.
func (s *Store) ReleaseInstances(ctx context.Context, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	now := s.clock()
	var released int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		released = 0
		cond, arg, err := s.inList("lease_owner", 2, ids)
		if err != nil {
			return err
		}
		for _, t := range leasedTables {
			res, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET `+t.due+` = $1, lease_owner = NULL WHERE `+cond, now, arg)
			if err != nil {
				return fmt.Errorf("release %s: %w", t.table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("release %s: %w", t.table, err)
			}
			released += n
		}
		cond, arg, err = s.inList("id", 1, ids)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE `+cond, arg); err != nil {
			return fmt.Errorf("forget instances: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release %d instances: %w", len(ids), err)
	}
	return released, nil
}

// LeaseOwner answers who holds a card's claim on a channel: "" when nobody
// does. Tests read it.
func (s *Store) LeaseOwner(ctx context.Context, memberID, channel string) (string, error) {
	var owner sql.NullString
	err := s.rd.QueryRowContext(ctx, `SELECT lease_owner FROM card_sync WHERE member_id = $1 AND channel = $2`,
		memberID, channel).Scan(&owner)
	if err != nil {
		return "", fmt.Errorf("lease owner of %s: %w", memberID, translate(err))
	}
	return owner.String, nil
}
