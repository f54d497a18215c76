package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

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

// SetDenseMatches sets how many prefix matches make SearchMembers walk
// the newest members. Call it before s is shared.
func (s *Store) SetDenseMatches(n int) { s.denseMatches = n }

// SeedMembers stores members with their accounts in bulk, for benchmarks
// that need a large program: multi-row inserts in one transaction, with
// the columns CreateMember writes and a delivered card on both channels
// (no consents).
// lastActivity gives each account's last activity.
func (s *Store) SeedMembers(ctx context.Context, ms []loyalty.Member, accounts []Account, lastActivity []time.Time) error {
	const batch = 500
	return s.write(ctx, func(tx *sql.Tx) error {
		for lo := 0; lo < len(ms); lo += batch {
			hi := min(lo+batch, len(ms))
			var mv, av []string
			var margs, aargs []any
			for i := lo; i < hi; i++ {
				m, a := ms[i], accounts[i]
				var ext any
				if m.ExternalID != "" {
					ext = m.ExternalID
				}
				mv = append(mv, placeholders(len(margs), 11))
				margs = append(margs, m.ID, m.Program, m.Number, m.Name, m.Email, m.Birthday, ext, m.AuthToken,
					m.CreatedAt.UTC().Truncate(time.Microsecond), strings.ToLower(m.Name), strings.ToLower(m.Email))
				av = append(av, placeholders(len(aargs), 8))
				aargs = append(aargs, m.ID, a.Points, a.Lifetime, a.Qualifying, a.Tier, max(a.PassVersion, 1),
					m.CreatedAt.Unix(), lastActivity[i].UTC().Truncate(time.Microsecond))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO members (id, program, number, name, email, birthday, external_id, auth_token, created_at, name_lc, email_lc) VALUES `+
				strings.Join(mv, ", "), margs...); err != nil {
				return fmt.Errorf("seed members: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (member_id, points, lifetime, qualifying, tier, pass_version, pass_modified, last_activity_at, update_seq) VALUES `+
				strings.Join(withSeq(av), ", "), aargs...); err != nil {
				return fmt.Errorf("seed accounts: %w", err)
			}
		}
		// Every card delivered once, on both channels.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO card_sync (member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, dirty_since, updated_at)
			SELECT a.member_id, c.channel, a.pass_version, a.pass_version, 0, $1, '', 'ok', $1, $1
			FROM accounts a CROSS JOIN (SELECT 'apple' AS channel UNION ALL SELECT 'google') c`, s.clock()); err != nil {
			return fmt.Errorf("seed card sync: %w", err)
		}
		if s.dialect == DialectPostgres {
			_, err := tx.ExecContext(ctx, `ANALYZE members; ANALYZE accounts; ANALYZE card_sync`)
			return err
		}
		_, err := tx.ExecContext(ctx, `ANALYZE`)
		return err
	})
}

// placeholders answers "($n+1, ..., $n+k)".
func placeholders(n, k int) string {
	p := make([]string, k)
	for i := range p {
		p[i] = "$" + strconv.Itoa(n+i+1)
	}
	return "(" + strings.Join(p, ", ") + ")"
}

// withSeq closes each row of placeholders with an update sequence of 0.
func withSeq(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.TrimSuffix(r, ")") + ", 0)"
	}
	return out
}

// RunMigrationStep runs migration version's Go step again, in a write
// transaction.
func (s *Store) RunMigrationStep(ctx context.Context, version int) error {
	return s.write(ctx, func(tx *sql.Tx) error { return migrationSteps[version](ctx, tx) })
}

// Exec runs a statement on the writer, for tests that set up what passd
// itself never writes (rows as an earlier version left them).
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.w.ExecContext(ctx, query, args...)
	return err
}

// SeedEntries writes perMember earn entries of 10 points for every member
// of program, for benchmarks: one statement, the sale times spread a day
// apart after the enrolment. The accounts are left as they are, so only
// the figures (which the entries' trigger feeds) may be read after it.
func (s *Store) SeedEntries(ctx context.Context, program string, perMember int) error {
	q := `INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at, occurred_at)
		SELECT m.id || '-' || g.n, m.id, 'earn', 10, 10 * g.n, '', $2, m.created_at + g.n * 86400000000
		FROM members m CROSS JOIN (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $3) SELECT n FROM c) g
		WHERE m.program = $1`
	if s.dialect == DialectPostgres {
		q = `INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at, occurred_at)
			SELECT m.id || '-' || g.n, m.id, 'earn', 10, 10 * g.n, '', $2, m.created_at + g.n * interval '1 day'
			FROM members m CROSS JOIN generate_series(1, $3::int) AS g(n)
			WHERE m.program = $1`
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, program, s.clock(), perMember); err != nil {
			return fmt.Errorf("seed entries: %w", err)
		}
		return nil
	})
}

// LedgerIssued sums a programme's positive entries by scanning its
// ledger: the reference BenchmarkProgramStats compares the figures with.
func (s *Store) LedgerIssued(ctx context.Context, program string) (int64, error) {
	var n int64
	err := s.rd.QueryRowContext(ctx, `SELECT COALESCE(sum(e.points), 0) FROM entries e JOIN members m ON m.id = e.member_id
		WHERE m.program = $1 AND e.points > 0`, program).Scan(&n)
	return n, err
}

// VacuumFigureDeltas vacuums PostgreSQL's figure_deltas, as autovacuum
// does within a minute of a fold; nothing on SQLite, whose deletes free
// their pages at once.
func (s *Store) VacuumFigureDeltas(ctx context.Context) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	_, err := s.w.ExecContext(ctx, `VACUUM figure_deltas`)
	return err
}

// QueuedPosts answers how many SQLite Posts wait in the group commit's
// queue, not yet taken by a batch.
func (s *Store) QueuedPosts() int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}
