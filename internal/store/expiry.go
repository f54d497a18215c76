package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// Expiry and its reminders are due rows of the lots table, claimed like
// sync jobs:
//
//   - Lock order: a job locks the members' account rows first, as Post
//     does, and only then touches their lots, so a job and a till never
//     wait for each other in a cycle. On PostgreSQL the accounts are
//     locked with SKIP LOCKED: a job never waits for a till or for another
//     instance's job, it takes other members (or the same ones on its next
//     pass).
//   - Exactly once: under the account lock a lot's remaining points are
//     read again, and its expire entry (reference "lot:<lot id>", unique
//     among expire entries: index entries_expire_lot) and its remaining
//     set to 0 commit together. A second instance finds the lot empty (or
//     the entry there, which rolls its batch back); a crash before the
//     commit leaves the lot due. The unique key is an index rather than an
//     idempotency key, which a till could take and which is pruned.
//   - The card: the account's pass version and the sync marks of both
//     channels are written in the same transaction, as Post writes them.

// dueCandidates bounds how many due rows a job looks at per member it may
// lock: enough that a second instance finds members the first holds
// skipped and others to take.
const dueCandidates = 4

// lockDueMembers locks, in tx, the accounts of up to limit members with a
// lot due by the condition dueWhere on lots l (its parameter $1 is now),
// skipping accounts another transaction holds on PostgreSQL, and answers
// them by member id.
func (s *Store) lockDueMembers(ctx context.Context, tx *sql.Tx, dueWhere, dueOrder string, now time.Time, limit int) (map[string]*dueAccount, error) {
	rows, err := tx.QueryContext(ctx, s.q(`
		SELECT a.member_id, a.points, a.pass_version, a.pass_modified, a.erased FROM accounts a
		WHERE `+s.inSubquery("a.member_id", `SELECT l.member_id FROM lots l WHERE `+dueWhere+` ORDER BY `+dueOrder+` LIMIT $2`)+`
		LIMIT $3 {{skip_locked}}`), now, limit*dueCandidates, limit)
	if err != nil {
		return nil, fmt.Errorf("lock due members: %w", err)
	}
	defer rows.Close()
	out := map[string]*dueAccount{}
	for rows.Next() {
		d := &dueAccount{}
		if err := rows.Scan(&d.id, &d.account.Points, &d.account.PassVersion, &d.modified, &d.erased); err != nil {
			return nil, fmt.Errorf("lock due members: %w", err)
		}
		out[d.id] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock due members: %w", err)
	}
	return out, nil
}

// inSubquery answers SQL testing col against the rows of the subquery sub.
// On PostgreSQL it is = ANY(ARRAY(sub)), which looks each value up in
// col's index; a plain IN may hash-join a scan of the whole table.
func (s *Store) inSubquery(col, sub string) string {
	if s.dialect == DialectPostgres {
		return col + " = ANY(ARRAY(" + sub + "))"
	}
	return col + " IN (" + sub + ")"
}

// dueAccount is a locked member's account as a job reads it.
type dueAccount struct {
	id       string
	account  Account
	modified int64
	erased   bool
}

// expiredLot is one lot's expiry: the expire entry and the lot as it was.
type expiredLot struct {
	entry Entry
	lot   balances.Lot
}

// ExpireDue expires the lots due at now (expires_at at or before it),
// about limit of them (a member's due lots go together, so a few more),
// a batch of members a transaction: for each lot with points left, one
// expire entry of what is left (never more than the balance; see
// balances.ExpireLot) dated at the lot's expiry, with reference
// "lot:<lot id>" (unique among expire entries), the lot emptied; per
// member the account (balance, pass version, pass modified time, update
// sequence) and the sync marks of both channels; and the "points_expired"
// events (pointsExpired). Lifetime and qualifying points, and so the tier,
// stay. An erased member's lots are emptied without an entry: the
// anonymous ledger keeps its balance. It answers how many lots it expired
// or emptied. It may run on several instances at once.
//
// It works in transactions of at most expireMembers members: on SQLite,
// where a transaction holds the database's one writer, a till then waits
// for a small batch at most; on PostgreSQL a small batch's rows are looked
// up by their indexes (the planner hash-joins whole tables for larger
// arrays of ids).
func (s *Store) ExpireDue(ctx context.Context, now time.Time, limit int) (int, error) {
	return inBatches(limit, func(members int) (int, error) {
		return s.expireBatch(ctx, now.UTC().Truncate(time.Microsecond), members)
	})
}

// expireMembers bounds the members of one expiry or reminder transaction
// (BenchmarkExpireLots weighs it against the tills' latency).
const expireMembers = 50

// inBatches runs batch, a transaction of at most expireMembers members
// answering how many lots it did, until about limit lots are done or a
// batch finds none, and answers how many were done.
func inBatches(limit int, batch func(members int) (int, error)) (int, error) {
	done := 0
	for done < limit {
		n, err := batch(min(expireMembers, limit-done))
		done += n
		if err != nil || n == 0 {
			return done, err
		}
	}
	return done, nil
}

// expireBatch is one transaction of ExpireDue, for up to limit members.
func (s *Store) expireBatch(ctx context.Context, now time.Time, limit int) (int, error) {
	done := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		done = 0
		members, err := s.lockDueMembers(ctx, tx, "l.remaining > 0 AND l.expires_at <= $1", "l.expires_at", now, limit)
		if err != nil || len(members) == 0 {
			return err
		}
		lots, err := s.dueLots(ctx, tx, members, now)
		if err != nil {
			return err
		}
		var expired []expiredLot
		var emptied []string
		for _, id := range sortedKeys(lots) {
			d := members[id]
			balances.SortLots(lots[id])
			for _, l := range lots[id] {
				emptied = append(emptied, l.ID)
				if d.erased {
					continue
				}
				out, _ := balances.ExpireLot(d.account, l)
				eid, err := uuid.NewV7()
				if err != nil {
					return fmt.Errorf("entry id: %w", err)
				}
				d.account = out.Account
				expired = append(expired, expiredLot{lot: l, entry: Entry{ID: eid.String(), MemberID: id, Type: balances.Expire,
					Points: out.Delta, BalanceAfter: out.Account.Points, Reference: "lot:" + l.ID,
					CreatedAt: now, OccurredAt: l.ExpiresAt, BasePoints: out.Delta}})
			}
		}
		done = len(emptied)
		var touched []*dueAccount
		for _, id := range sortedKeys(lots) {
			if !members[id].erased {
				touched = append(touched, members[id])
			}
		}
		if s.dialect == DialectPostgres {
			err = s.writeExpiredPostgres(ctx, tx, expired, emptied, touched, now)
		} else {
			err = s.writeExpiredSQLite(ctx, tx, expired, emptied, touched, now)
		}
		if err != nil {
			return err
		}
		return s.pointsExpired(ctx, tx, expired, now)
	})
	if err != nil {
		return 0, fmt.Errorf("expire due lots: %w", err)
	}
	return done, nil
}

// dueLots reads, in tx, the lots of members due at now with points left,
// by member id. Under the members' locks their lots cannot change.
func (s *Store) dueLots(ctx context.Context, tx *sql.Tx, members map[string]*dueAccount, now time.Time) (map[string][]balances.Lot, error) {
	in, arg, err := s.inList("member_id", 1, sortedKeys(members))
	if err != nil {
		return nil, fmt.Errorf("due lots: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT id, member_id, points, remaining, earned_at, expires_at FROM lots
		WHERE `+in+` AND remaining > 0 AND expires_at <= $2`, arg, now)
	if err != nil {
		return nil, fmt.Errorf("due lots: %w", err)
	}
	defer rows.Close()
	out := map[string][]balances.Lot{}
	for rows.Next() {
		var l balances.Lot
		var member string
		if err := rows.Scan(&l.ID, &member, &l.Points, &l.Remaining, ts{&l.EarnedAt}, ts{&l.ExpiresAt}); err != nil {
			return nil, fmt.Errorf("due lots: %w", err)
		}
		out[member] = append(out[member], l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due lots: %w", err)
	}
	return out, nil
}

// sortedKeys answers a map's keys in order, so that a batch writes its
// members in one order every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// expireWritePostgres writes a batch of expiries in one statement: the
// entries ($1 ids, $2 member ids, $3 points, $4 balances after, $5 lot ids,
// $6 sale times: the lots' expiries; $7 now) in that order, the lots
// emptied ($8), the accounts ($9 member ids,
// $10 pass versions, $11 balances; $12 pass modified at least) and the
// sync marks of both channels ($13 when a card that turns dirty is due).
var expireWritePostgres = `
	WITH x AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[])
			WITH ORDINALITY AS x(entry_id, member_id, points, balance_after, lot_id, occurred_at, n)
	), e AS (
		INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at,
			base_points, bonus_points, campaign_id, occurred_at)
		SELECT entry_id, member_id, 'expire', points, balance_after, 'lot:' || lot_id, $7, points, 0, '', occurred_at
		FROM x ORDER BY n
	), l AS (
		UPDATE lots SET remaining = 0 WHERE id = ANY($8::text[])
	), a AS (
		UPDATE accounts SET points = u.points, pass_version = u.version,
			pass_modified = GREATEST(accounts.pass_modified + 1, $12),
			update_seq = nextval('update_seq'), update_xid = pg_current_xact_id()
		FROM unnest($9::text[], $10::bigint[], $11::bigint[]) AS u(member_id, version, points)
		WHERE accounts.member_id = u.member_id
	)` + markDirtyFromSQL(" FROM unnest($9::text[], $10::bigint[]) AS v(mid, version)", "v.mid", "v.version", "$13", "$7")

func (s *Store) writeExpiredPostgres(ctx context.Context, tx *sql.Tx, expired []expiredLot, emptied []string, touched []*dueAccount, now time.Time) error {
	n := len(expired)
	ids, members, points, after, lots, occurred := make([]string, n), make([]string, n), make([]int64, n), make([]int64, n), make([]string, n), make([]time.Time, n)
	for i, x := range expired {
		ids[i], members[i], points[i], after[i], lots[i], occurred[i] = x.entry.ID, x.entry.MemberID, x.entry.Points, x.entry.BalanceAfter, x.lot.ID, x.lot.ExpiresAt
	}
	m := len(touched)
	accounts, versions, balancesAfter := make([]string, m), make([]int64, m), make([]int64, m)
	for i, d := range touched {
		accounts[i], versions[i], balancesAfter[i] = d.id, d.account.PassVersion, d.account.Points
	}
	if _, err := tx.ExecContext(ctx, expireWritePostgres, ids, members, points, after, lots, occurred, now,
		emptied, accounts, versions, balancesAfter, now.Unix(), now.Add(s.debounce)); err != nil {
		return fmt.Errorf("write expiries: %w", err)
	}
	return nil
}

// writeExpiredSQLite writes what expireWritePostgres writes, a statement
// per row (SQLite statements cost no round trip), each prepared once per
// batch.
func (s *Store) writeExpiredSQLite(ctx context.Context, tx *sql.Tx, expired []expiredLot, emptied []string, touched []*dueAccount, now time.Time) error {
	if err := s.bumpSeq(ctx, tx); err != nil {
		return err
	}
	entry, err := tx.PrepareContext(ctx, `
		INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at,
			base_points, bonus_points, campaign_id, occurred_at)
		VALUES ($1, $2, 'expire', $3, $4, 'lot:' || $5, $6, $3, 0, '', $7)`)
	if err != nil {
		return fmt.Errorf("write expiries: %w", err)
	}
	defer entry.Close()
	for _, x := range expired {
		e := x.entry
		if _, err := entry.ExecContext(ctx, e.ID, e.MemberID, e.Points, e.BalanceAfter, x.lot.ID, now, x.lot.ExpiresAt); err != nil {
			return fmt.Errorf("write expire entry: %w", err)
		}
	}
	empty, err := tx.PrepareContext(ctx, `UPDATE lots SET remaining = 0 WHERE id = $1`)
	if err != nil {
		return fmt.Errorf("write expiries: %w", err)
	}
	defer empty.Close()
	for _, id := range emptied {
		if _, err := empty.ExecContext(ctx, id); err != nil {
			return fmt.Errorf("empty lot: %w", err)
		}
	}
	account, err := tx.PrepareContext(ctx, s.q(`
		UPDATE accounts SET points = $2, pass_version = $3,
			pass_modified = CASE WHEN pass_modified + 1 > $4 THEN pass_modified + 1 ELSE $4 END,
			{{set_update_seq}}
		WHERE member_id = $1`))
	if err != nil {
		return fmt.Errorf("write expiries: %w", err)
	}
	defer account.Close()
	mark, err := tx.PrepareContext(ctx, markDirtySQL("$1", "$2", "$3", "$4"))
	if err != nil {
		return fmt.Errorf("write expiries: %w", err)
	}
	defer mark.Close()
	for _, d := range touched {
		if _, err := account.ExecContext(ctx, d.id, d.account.Points, d.account.PassVersion, now.Unix()); err != nil {
			return fmt.Errorf("write expired account: %w", err)
		}
		if _, err := mark.ExecContext(ctx, d.id, d.account.PassVersion, now.Add(s.debounce), now); err != nil {
			return fmt.Errorf("mark card dirty: %w", err)
		}
	}
	return nil
}

// pointsExpired records, in tx, that the lots of expired expired: one
// "points_expired" event per lot, which the export lists, and the webhook
// events points.expired and transaction.posted (the expire entry). It is
// the one place an expiry's events are written, in the expiry's own
// transaction.
func (s *Store) pointsExpired(ctx context.Context, tx *sql.Tx, expired []expiredLot, now time.Time) error {
	if len(expired) == 0 {
		return nil
	}
	for _, x := range expired {
		if err := emit(ctx, tx, x.entry.MemberID, loyalty.EventPointsExpired, pointsExpiredEvent{
			MemberID: x.entry.MemberID, LotID: x.lot.ID, EntryID: x.entry.ID, Points: -x.entry.Points,
		}, now); err != nil {
			return err
		}
		if err := emit(ctx, tx, x.entry.MemberID, loyalty.EventTransactionPosted, loyalty.NewTransactionJSON(x.entry), now); err != nil {
			return err
		}
	}
	members, data := make([]string, len(expired)), make([]string, len(expired))
	for i, x := range expired {
		b, err := json.Marshal(struct {
			LotID   string `json:"lot_id"`
			EntryID string `json:"entry_id"`
			Points  int64  `json:"points"`
		}{x.lot.ID, x.entry.ID, -x.entry.Points})
		if err != nil {
			return fmt.Errorf("encode points_expired event: %w", err)
		}
		members[i], data[i] = x.entry.MemberID, string(b)
	}
	if s.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO events (member_id, kind, data, created_at)
			SELECT u.member_id, 'points_expired', u.data, $3
			FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(member_id, data, n) ORDER BY u.n`,
			members, data, now); err != nil {
			return fmt.Errorf("add points_expired events: %w", err)
		}
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO events (member_id, kind, data, created_at) VALUES ($1, 'points_expired', $2, $3)`)
	if err != nil {
		return fmt.Errorf("add points_expired events: %w", err)
	}
	defer st.Close()
	for i := range members {
		if _, err := st.ExecContext(ctx, members[i], data[i], now); err != nil {
			return fmt.Errorf("add points_expired event: %w", err)
		}
	}
	return nil
}

// RemindDue marks reminded the lots whose reminder is due at now
// (remind_at at or before it, not expired yet, points left), about limit
// of them, in transactions of expireMembers members, and changes each live
// member's card once (pass version, sync marks of both channels): the card
// then says how many points expire when (loyalty.PointsExpiring.Reminded),
// and Apple's change message tells the member once. It answers how many
// lots it marked. It may run on several instances at once: the flag is set
// under the member's account lock.
func (s *Store) RemindDue(ctx context.Context, now time.Time, limit int) (int, error) {
	return inBatches(limit, func(members int) (int, error) {
		return s.remindBatch(ctx, now.UTC().Truncate(time.Microsecond), members)
	})
}

// remindBatch is one transaction of RemindDue, for up to limit members.
func (s *Store) remindBatch(ctx context.Context, now time.Time, limit int) (int, error) {
	done := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		done = 0
		const due = "l.remaining > 0 AND NOT l.reminded AND l.remind_at <= $1 AND l.expires_at > $1"
		members, err := s.lockDueMembers(ctx, tx, due, "l.remind_at", now, limit)
		if err != nil {
			return err
		}
		for _, id := range sortedKeys(members) {
			res, err := tx.ExecContext(ctx, `
				UPDATE lots SET reminded = true
				WHERE member_id = $1 AND remaining > 0 AND NOT reminded AND remind_at <= $2 AND expires_at > $2`, id, now)
			if err != nil {
				return fmt.Errorf("remind lots: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("remind lots: %w", err)
			}
			done += int(n)
			if n > 0 && !members[id].erased {
				if err := s.touchAccount(ctx, tx, id, now, false); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("remind due lots: %w", err)
	}
	return done, nil
}

// Lots answers a member's lots, spent ones too, in the order debits take
// them (balances.SortLots). An unknown member has none.
func (s *Store) Lots(ctx context.Context, memberID string) ([]balances.Lot, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT id, points, remaining, earned_at, expires_at, remind_at FROM lots WHERE member_id = $1`, memberID)
	if err != nil {
		return nil, fmt.Errorf("lots of %s: %w", memberID, translate(err))
	}
	defer rows.Close()
	var out []balances.Lot
	for rows.Next() {
		var l balances.Lot
		if err := rows.Scan(&l.ID, &l.Points, &l.Remaining, ts{&l.EarnedAt}, ts{&l.ExpiresAt}, ts{&l.RemindAt}); err != nil {
			return nil, fmt.Errorf("lots of %s: %w", memberID, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lots of %s: %w", memberID, translate(err))
	}
	balances.SortLots(out)
	return out, nil
}

// pointsExpiredEvent is the data of points.expired: what was left of a
// lot at its expiry, and the expire entry that took it.
type pointsExpiredEvent struct {
	MemberID string `json:"member_id"`
	LotID    string `json:"lot_id"`
	EntryID  string `json:"entry_id"`
	Points   int64  `json:"points"`
}
