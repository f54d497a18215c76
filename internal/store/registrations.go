package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// Register records that a device registered for a member's pass (the
// PassKit web service). A registration that exists already gets the new push
// token and created is false. The member's first registration is
// card.installed (wallet apple): the event counts cards, not devices or
// push tokens. An unknown or erased member is
// loyalty.ErrMemberNotFound.
func (s *Store) Register(ctx context.Context, r Registration) (created bool, err error) {
	now := s.clock()
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockMember(ctx, tx, r.MemberID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO registrations (device_id, pass_type_id, member_id, push_token, created_at, updated_at)
			SELECT $1, $2, $3, $4, $5, $5 FROM members WHERE id = $3 AND erased_at IS NULL
			ON CONFLICT (device_id, pass_type_id, member_id) DO NOTHING`,
			r.DeviceID, r.PassTypeID, r.MemberID, r.PushToken, now)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			created = true
			return s.emitAppleCard(ctx, tx, r.MemberID, true, now)
		}
		err = oneRow(tx.ExecContext(ctx, `
			UPDATE registrations SET push_token = $4, updated_at = $5
			WHERE device_id = $1 AND pass_type_id = $2 AND member_id = $3
			  AND EXISTS (SELECT 1 FROM members WHERE id = $3 AND erased_at IS NULL)`,
			r.DeviceID, r.PassTypeID, r.MemberID, r.PushToken, now))
		if errors.Is(err, ErrNotFound) {
			return loyalty.ErrMemberNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("register device for %s: %w", r.MemberID, err)
	}
	return created, nil
}

// Unregister removes a device's registration for a member's pass; an
// unknown registration is ErrNotFound. The member's last registration
// gone is card.removed (wallet apple).
func (s *Store) Unregister(ctx context.Context, deviceID, passTypeID, memberID string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockMember(ctx, tx, memberID); err != nil {
			return err
		}
		if err := oneRow(tx.ExecContext(ctx, `
			DELETE FROM registrations WHERE device_id = $1 AND pass_type_id = $2 AND member_id = $3`,
			deviceID, passTypeID, memberID)); err != nil {
			return err
		}
		return s.emitAppleCard(ctx, tx, memberID, false, now)
	})
	if err != nil {
		return fmt.Errorf("unregister device for %s: %w", memberID, err)
	}
	return nil
}

// UpdatedSerials answers the members (pass serial numbers) a device is
// registered for whose card changed after the tag since, roughly in change
// order, and the tag for the device's next call. Tags are opaque strings
// the store makes and reads; a tag it cannot read ("", another dialect's or
// an earlier version's, garbage) answers every registered serial, which is
// always safe: the device gets 304 for what it has.
//
// On SQLite the tag is update_seq. SQLite has one writer at a time and
// bumps the counter inside the write transaction, so sequence order is
// commit order and the tag is the greatest sequence answered (since itself
// when nothing changed). A tag above the counter was made before the
// database was restored from an older copy and answers every serial. So
// does a tag made before passctl restore, even once the restored counter
// has passed it: restore writes a new random restore epoch into the
// database (MarkRestored), and the tag is "seq.epoch" once there is one,
// so that a tag of another epoch reads as no tag.
//
// On PostgreSQL sequence values are drawn before commit, so a change can
// become visible after a later-numbered one. The tag is "x" and the xmin of
// the query's own snapshot instead, and a card is answered when the
// transaction that last changed it (accounts.update_xid) is not below the
// tag. Every transaction below the snapshot's xmin had finished when the
// query ran, so the query saw its change; every change it did not see was
// made by a transaction at or above the xmin, so the next call finds it.
// With nothing changed no serials are answered, once the transactions that
// were in flight at the last call have finished: until then a card changed
// by a transaction at or above the tag is answered again, as is any card
// while a long transaction holds the xmin back. A tag above the current
// xmin was not made by this database (a restore into a new cluster restarts
// transaction ids) and answers every serial.
func (s *Store) UpdatedSerials(ctx context.Context, deviceID, passTypeID, since string) (serials []string, tag string, err error) {
	var query string
	var from any
	if s.dialect == DialectPostgres {
		// One statement, so one snapshot gives both the xmin and the rows;
		// the LEFT JOIN answers the xmin when no card changed. A NULL
		// update_xid (no change since migration 0007) is below every tag.
		// A tag that does not read binds NULL: every serial.
		query = `
		SELECT u.member_id, 'x' || s.xmin::text
		FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) s
		LEFT JOIN LATERAL (
			SELECT r.member_id, a.update_seq
			FROM registrations r JOIN accounts a ON a.member_id = r.member_id
			WHERE r.device_id = $1 AND r.pass_type_id = $2
			  AND ($3::text IS NULL OR $3::text::xid8 > s.xmin OR a.update_xid >= $3::text::xid8)
		) u ON true
		ORDER BY u.update_seq, u.member_id`
		if x, ok := strings.CutPrefix(since, "x"); ok {
			if n, err := strconv.ParseUint(x, 10, 64); err == nil {
				from = strconv.FormatUint(n, 10)
			}
		}
	} else {
		query = `
		SELECT r.member_id, CAST(a.update_seq AS TEXT)
		FROM registrations r JOIN accounts a ON a.member_id = r.member_id
		WHERE r.device_id = $1 AND r.pass_type_id = $2
		  AND (a.update_seq > $3 OR $3 > (SELECT value FROM counters WHERE name = 'update_seq'))
		ORDER BY a.update_seq, r.member_id`
		seq, epoch, _ := strings.Cut(since, ".")
		n, err := strconv.ParseInt(seq, 10, 64)
		if err != nil || n < 0 || epoch != s.restoreEpoch {
			n = 0 // a tag passd never made, or made before a restore: everything
		}
		from, tag = n, strconv.FormatInt(n, 10)
	}
	rows, err := s.rd.QueryContext(ctx, query, deviceID, passTypeID, from)
	if err != nil {
		return nil, "", fmt.Errorf("updated serials: %w", translate(err))
	}
	defer rows.Close()
	serials = []string{}
	for rows.Next() {
		// SQLite: the last row carries the greatest sequence. PostgreSQL:
		// every row carries the xmin, and there is at least one.
		var id sql.NullString
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, "", fmt.Errorf("updated serials: %w", err)
		}
		if id.Valid {
			serials = append(serials, id.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("updated serials: %w", translate(err))
	}
	if s.restoreEpoch != "" {
		tag += "." + s.restoreEpoch
	}
	return serials, tag, nil
}

// RegistrationsFor answers the devices registered for a member's pass,
// oldest first.
func (s *Store) RegistrationsFor(ctx context.Context, memberID string) ([]Registration, error) {
	out, err := registrationsFor(ctx, s.rd, memberID)
	if err != nil {
		return nil, fmt.Errorf("registrations of %s: %w", memberID, translate(err))
	}
	return out, nil
}

func registrationsFor(ctx context.Context, q queryer, memberID string) ([]Registration, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT device_id, push_token, pass_type_id, member_id, created_at, updated_at
		FROM registrations WHERE member_id = $1 ORDER BY created_at, device_id, pass_type_id`, memberID)
	if err != nil {
		return nil, fmt.Errorf("registrations: %w", err)
	}
	defer rows.Close()
	out := []Registration{}
	for rows.Next() {
		var r Registration
		if err := rows.Scan(&r.DeviceID, &r.PushToken, &r.PassTypeID, &r.MemberID, ts{&r.CreatedAt}, ts{&r.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("registrations: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registrations: %w", err)
	}
	return out, nil
}

// DeleteRegistrationsByPushToken removes every registration with a push
// token (APNs answered 410 Unregistered for it) and answers how many. A
// card left with no registration is card.removed (wallet apple).
func (s *Store) DeleteRegistrationsByPushToken(ctx context.Context, pushToken string) (int64, error) {
	now := s.clock()
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		locked, err := s.lockRegistered(ctx, tx, `r.push_token = $1`, pushToken)
		if err != nil || len(locked) == 0 {
			return err
		}
		in, arg, err := s.inList("member_id", 2, locked)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM registrations WHERE push_token = $1 AND `+in+` RETURNING member_id`, pushToken, arg)
		if err != nil {
			return err
		}
		members, err := collectStrings(rows)
		if err != nil {
			return err
		}
		n = int64(len(members))
		slices.Sort(members)
		for _, m := range slices.Compact(members) {
			if err := s.emitAppleCard(ctx, tx, m, false, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete registrations by push token: %w", err)
	}
	return n, nil
}

// CountRegistrations answers the number of device registrations: the Apple
// cards installed.
func (s *Store) CountRegistrations(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rd.QueryRowContext(ctx, `SELECT count(*) FROM registrations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count registrations: %w", translate(err))
	}
	return n, nil
}

// PruneErasedRegistrations deletes the device registrations (device
// identifiers and push tokens) of members erased before the given time,
// and answers how many went. Erasure keeps them for a while so that the
// voided card reaches the member's phones; the voided pass has no web
// service, so no phone would ever unregister it.
func (s *Store) PruneErasedRegistrations(ctx context.Context, erasedBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		locked, err := s.lockRegistered(ctx, tx, `EXISTS (
			SELECT 1 FROM members m WHERE m.id = r.member_id AND m.erased_at IS NOT NULL AND m.erased_at < $1)`,
			erasedBefore.UTC().Truncate(time.Microsecond))
		if err != nil || len(locked) == 0 {
			return err
		}
		in, arg, err := s.inList("member_id", 1, locked)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE `+in, arg)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune erased members' registrations: %w", translate(err))
	}
	return n, nil
}

// Every write that adds or removes a member's registrations holds the
// member's lock (lockMember: the account's row, as a till's transaction
// takes it) from before its first statement on them. The figures'
// triggers on registrations (migration 0024) count a member's Apple card
// when its first registration comes and when its last one goes; on
// PostgreSQL two transactions adding or removing registrations of one
// member at once would each miss the other's rows (READ COMMITTED), and
// count the card twice or never take it off. Under the lock they take
// turns, and each statement sees what the one before committed.

// lockRegistered takes the lock of every member with a registration that
// cond (on registrations r, with args) finds, in member order so that two
// of these never wait for each other, and answers the members locked.
func (s *Store) lockRegistered(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.q(`
		SELECT member_id FROM accounts
		WHERE member_id IN (SELECT r.member_id FROM registrations r WHERE `+cond+`)
		ORDER BY member_id {{for_update}}`), args...)
	if err != nil {
		return nil, fmt.Errorf("lock registered members: %w", err)
	}
	ids, err := collectStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("lock registered members: %w", err)
	}
	return ids, nil
}

// emitAppleCard writes card.installed for a member's card that now has
// exactly one device registration (installed), or card.removed for one
// that has none left; other counts are a second device or push token
// churn and write nothing. The caller holds the member's lock, so two
// devices registering at once make one card.installed.
func (s *Store) emitAppleCard(ctx context.Context, tx *sql.Tx, memberID string, installed bool, now time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM registrations WHERE member_id = $1`, memberID).Scan(&n); err != nil {
		return fmt.Errorf("count registrations: %w", err)
	}
	if (installed && n != 1) || (!installed && n != 0) {
		return nil
	}
	return emitCard(ctx, tx, memberID, loyalty.ChannelApple, installed, now)
}
