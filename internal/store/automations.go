package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// The store side of passd's time-driven work (internal/automations):
// birthdays, dormancy, lapsing vouchers and tier reviews. Each kind has a
// due column with an index (members.birthday_due_at,
// members.dormant_check_at, the unused vouchers by expires_at,
// accounts.tier_review_at); a job reads what is due, asks the domain
// what to do, and settles each item in one transaction that:
//
//   - locks the member's account first, as Post does, so an item and a
//     till's transaction on the same member queue behind each other;
//   - moves the due column on only if it still holds the value the job
//     read (a second instance that read the same row then does nothing);
//   - writes the item under its unique key (birthday_credits: member and
//     year; dormant_spells: member and spell; the voucher's lapsed_at; the
//     tier review's due time itself), so a crash or a second instance can
//     never do it twice;
//   - writes the effect with it: the bonus entry, the account and the
//     card's sync marks (credit), or the pass version and marks alone.
//
// Webhook events of this work are written in the same transactions: a
// bonus's transaction.posted where credit writes its entry, tier.changed
// where credit and ReviewTier write the tier_changed event, and voucher
// expiry where LapseVoucher writes the voucher_expired event.

// automationLock is the member's lock for time-driven work, with what the
// jobs need of the account.
const automationLock = `
	SELECT points, lifetime, qualifying, tier, pass_version, pass_modified, erased, last_activity_at
	FROM accounts WHERE member_id = $1 {{for_update}}`

// lockedAccount is automationLock's row.
type lockedAccount struct {
	account      Account
	modified     int64
	erased       bool
	lastActivity time.Time
}

// settle runs one item of time-driven work on a member in one write
// transaction, under the member's lock (automationLock), and reports
// whether fn did the item. A member without an account is handed to fn as
// erased.
func (s *Store) settle(ctx context.Context, what, memberID string, fn func(tx *sql.Tx, l lockedAccount) (bool, error)) (bool, error) {
	done := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		l, err := s.lockForAutomation(ctx, tx, memberID)
		if errors.Is(err, loyalty.ErrMemberNotFound) {
			l.erased, err = true, nil
		}
		if err != nil {
			return err
		}
		done, err = fn(tx, l)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, memberID, err)
	}
	return done, nil
}

func (s *Store) lockForAutomation(ctx context.Context, tx *sql.Tx, memberID string) (lockedAccount, error) {
	var l lockedAccount
	a := &l.account
	err := tx.QueryRowContext(ctx, s.q(automationLock), memberID).
		Scan(&a.Points, &a.Lifetime, &a.Qualifying, &a.Tier, &a.PassVersion, &l.modified, &l.erased, ts{&l.lastActivity})
	if errors.Is(err, sql.ErrNoRows) {
		return lockedAccount{}, loyalty.ErrMemberNotFound
	}
	if err != nil {
		return lockedAccount{}, fmt.Errorf("lock account: %w", err)
	}
	return l, nil
}

// insertKey runs a statement that writes an item's unique key (an INSERT
// ... ON CONFLICT DO NOTHING, or an UPDATE guarded by the key's column)
// and reports whether it wrote it: false means the item was done before.
func insertKey(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("write the item's key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("write the item's key: %w", err)
	}
	return n == 1, nil
}

// moveDue sets a member's due column from was to next (NULL when next is
// nil) and reports whether it still held was: false means another
// instance settled the item first.
func moveDue(ctx context.Context, tx *sql.Tx, column, memberID string, was time.Time, next *time.Time) (bool, error) {
	return insertKey(ctx, tx, `UPDATE members SET `+column+` = $3 WHERE id = $1 AND `+column+` = $2`,
		memberID, utcMicro(was), nullTime(next))
}

// BirthdayDue is a member whose birthday is due for a look.
type BirthdayDue struct {
	MemberID, Program string
	// Birthday is "YYYY-MM-DD" ("" once erased).
	Birthday string
	// Due is the member's birthday_due_at as read.
	Due time.Time
}

// BirthdaysDue answers at most limit members whose birthday is due for a
// look at now, the longest due first.
func (s *Store) BirthdaysDue(ctx context.Context, now time.Time, limit int) ([]BirthdayDue, error) {
	rows, err := s.w.QueryContext(ctx, `
		SELECT id, program, birthday, birthday_due_at FROM members
		WHERE birthday_due_at <= $1 ORDER BY birthday_due_at LIMIT $2`, utcMicro(now), limit)
	if err != nil {
		return nil, fmt.Errorf("birthdays due: %w", translate(err))
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (BirthdayDue, error) {
		var d BirthdayDue
		err := row.Scan(&d.MemberID, &d.Program, &d.Birthday, ts{&d.Due})
		return d, err
	})
}

// SettleBirthday settles a birthday look in one transaction: when year is
// above 0 and points above 0 it credits a "birthday" bonus of points for
// that year, once per member and year (birthday_credits), and it moves the
// member's due time to next (nil: stop looking). It reports whether it
// credited. A look another instance settled first (the due time moved
// meanwhile) does nothing; an erased member's due time is cleared.
func (s *Store) SettleBirthday(ctx context.Context, d BirthdayDue, year int, points int64, rules balances.Rules, next *time.Time, now time.Time) (bool, error) {
	now = utcMicro(now)
	return s.settle(ctx, "settle birthday", d.MemberID, func(tx *sql.Tx, l lockedAccount) (bool, error) {
		if l.erased {
			next = nil
		}
		if ok, err := moveDue(ctx, tx, "birthday_due_at", d.MemberID, d.Due, next); err != nil || !ok {
			return false, err
		}
		if l.erased || year <= 0 || points <= 0 {
			return false, nil
		}
		if first, err := insertKey(ctx, tx, `
			INSERT INTO birthday_credits (member_id, year, points, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (member_id, year) DO NOTHING`, d.MemberID, year, points, now); err != nil || !first {
			return false, err
		}
		_, err := s.credit(ctx, tx, d.MemberID, l.account, max(now.Unix(), l.modified+1), points, balances.ReasonBirthday, rules, now)
		return err == nil, err
	})
}

// DormantDue is a member of a programme with a dormant rule who is due for
// a look.
type DormantDue struct {
	MemberID string
	// Check is the member's dormant_check_at as read.
	Check time.Time
	// LastActivity is when the member's latest transaction was posted (or
	// the enrolment before any).
	LastActivity time.Time
	// DormantAt is the start of the spell the card shows the dormant
	// message of (zero for none).
	DormantAt time.Time
}

// DormantDue answers at most limit members of program whose dormancy is
// due for a look at now, the longest due first.
func (s *Store) DormantDue(ctx context.Context, program string, now time.Time, limit int) ([]DormantDue, error) {
	rows, err := s.w.QueryContext(ctx, `
		SELECT m.id, m.dormant_check_at, a.last_activity_at, a.dormant_at
		FROM members m JOIN accounts a ON a.member_id = m.id
		WHERE m.program = $1 AND m.dormant_check_at <= $2
		ORDER BY m.dormant_check_at LIMIT $3`, program, utcMicro(now), limit)
	if err != nil {
		return nil, fmt.Errorf("dormant due: %w", translate(err))
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (DormantDue, error) {
		var d DormantDue
		err := row.Scan(&d.MemberID, ts{&d.Check}, ts{&d.LastActivity}, ts{&d.DormantAt})
		return d, err
	})
}

// SettleDormant settles a dormancy look in one transaction. With greet it
// greets the spell that began at spell, once per member and spell
// (dormant_spells): the card shows the programme's dormant message from
// then (accounts.dormant_at) and, with points above 0, a "dormant" bonus
// is credited; the bonus is no transaction of the member's, so it neither
// ends the spell nor begins another. The member's next look moves to
// next. It reports whether it greeted.
//
// The plan was made from d.LastActivity: if the member posted a
// transaction since, nothing is greeted and the look moves to now, to be
// planned again. A look another instance settled first does nothing; an
// erased member is looked at no more.
func (s *Store) SettleDormant(ctx context.Context, d DormantDue, greet bool, spell time.Time, points int64, rules balances.Rules, next, now time.Time) (bool, error) {
	now, spell = utcMicro(now), utcMicro(spell)
	return s.settle(ctx, "settle dormancy", d.MemberID, func(tx *sql.Tx, l lockedAccount) (bool, error) {
		moveTo := &next
		switch {
		case l.erased:
			moveTo, greet = nil, false
		case !l.lastActivity.Equal(d.LastActivity):
			moveTo, greet = &now, false
		}
		if ok, err := moveDue(ctx, tx, "dormant_check_at", d.MemberID, d.Check, moveTo); err != nil || !ok || !greet {
			return false, err
		}
		if first, err := insertKey(ctx, tx, `
			INSERT INTO dormant_spells (member_id, spell_start, points, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (member_id, spell_start) DO NOTHING`, d.MemberID, spell, points, now); err != nil || !first {
			return false, err
		}
		var err error
		if points > 0 {
			_, err = s.credit(ctx, tx, d.MemberID, l.account, max(now.Unix(), l.modified+1), points, balances.ReasonDormant, rules, now)
		} else {
			err = s.touchAccount(ctx, tx, d.MemberID, now, false)
		}
		if err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET dormant_at = $2 WHERE member_id = $1`, d.MemberID, spell); err != nil {
			return false, fmt.Errorf("show dormant message: %w", err)
		}
		return true, nil
	})
}

// VoucherDue is an unused voucher past its expiry, still on the card.
type VoucherDue struct {
	Code, MemberID, RewardID string
	ExpiresAt                time.Time
}

// VouchersToLapse answers at most limit unused vouchers whose expires_at
// is at or before now and that are still on their cards, the oldest
// expiry first.
func (s *Store) VouchersToLapse(ctx context.Context, now time.Time, limit int) ([]VoucherDue, error) {
	rows, err := s.w.QueryContext(ctx, `
		SELECT code, member_id, reward_id, expires_at FROM vouchers
		WHERE status = 'unused' AND lapsed_at IS NULL AND expires_at <= $1
		ORDER BY expires_at LIMIT $2`, utcMicro(now), limit)
	if err != nil {
		return nil, fmt.Errorf("vouchers to lapse: %w", translate(err))
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (VoucherDue, error) {
		var v VoucherDue
		err := row.Scan(&v.Code, &v.MemberID, &v.RewardID, ts{&v.ExpiresAt})
		return v, err
	})
}

// LapseVoucher takes an unused voucher past its expiry off its card, once,
// in one transaction: the voucher's lapsed_at, the card (pass version,
// dirty marks, the account's open vouchers) and a "voucher_expired" event.
// It reports whether it lapsed the voucher: false when it was used, or
// lapsed by another instance, first. An erased member's voucher lapses
// without a card change.
func (s *Store) LapseVoucher(ctx context.Context, v VoucherDue, now time.Time) (bool, error) {
	now = utcMicro(now)
	return s.settle(ctx, "lapse voucher "+v.Code+" of", v.MemberID, func(tx *sql.Tx, l lockedAccount) (bool, error) {
		if first, err := insertKey(ctx, tx, `
			UPDATE vouchers SET lapsed_at = $2
			WHERE code = $1 AND status = 'unused' AND lapsed_at IS NULL AND expires_at <= $2`, v.Code, now); err != nil || !first {
			return false, err
		}
		if l.erased {
			return true, nil
		}
		if err := s.touchAccount(ctx, tx, v.MemberID, now, false); err != nil {
			return false, err
		}
		if err := addEvent(ctx, tx, v.MemberID, "voucher_expired", voucherEvent{v.Code, v.RewardID}, now); err != nil {
			return false, err
		}
		return true, s.listOpenVouchers(ctx, tx, v.MemberID, now)
	})
}

// lowerTierReview brings the tier review of an account that a bonus took
// from a to n, in a programme with a rolling tier window, no later than
// when the bonus leaves the window.
func lowerTierReview(ctx context.Context, tx *sql.Tx, memberID string, a, n Account, rules balances.Rules, now time.Time) error {
	review := tierReview(a, n, balances.Request{OccurredAt: now}, rules)
	if review == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE accounts SET tier_review_at = $2 WHERE member_id = $1 AND (tier_review_at IS NULL OR tier_review_at > $2)`,
		memberID, review); err != nil {
		return fmt.Errorf("plan tier review: %w", err)
	}
	return nil
}

// TierReviewDue is a member whose qualifying points are due for a review:
// an entry leaves a rolling tier window, or the programme changed its
// tier rules.
type TierReviewDue struct {
	MemberID, Program string
	// Due is the account's tier_review_at as read.
	Due time.Time
}

// TierReviewsDue answers at most limit members whose tier review is due at
// now, the longest due first.
func (s *Store) TierReviewsDue(ctx context.Context, now time.Time, limit int) ([]TierReviewDue, error) {
	rows, err := s.w.QueryContext(ctx, `
		SELECT a.member_id, m.program, a.tier_review_at FROM accounts a JOIN members m ON m.id = a.member_id
		WHERE a.tier_review_at <= $1 ORDER BY a.tier_review_at LIMIT $2`, utcMicro(now), limit)
	if err != nil {
		return nil, fmt.Errorf("tier reviews due: %w", translate(err))
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (TierReviewDue, error) {
		var d TierReviewDue
		err := row.Scan(&d.MemberID, &d.Program, ts{&d.Due})
		return d, err
	})
}

// ReviewTier reviews a member's tier in one transaction under the
// member's lock: it recomputes the qualifying points from the member's
// entries under the programme's tier window (rules.TierWindow): with a
// rolling window those that occurred in it (balances.RollingQualifying),
// planning the next review for when the oldest leaves it; with a lifetime
// window all of them (balances.LifetimeQualifying), planning none. It
// sets the tier they reach (up or down); a tier that changes raises the
// pass version, marks the card on both channels and records a
// "tier_changed" event, as Post does, so the card announces a downgrade.
// A programme change of its tier rules has every member reviewed so
// (MarkProgramCards). It reports whether the tier changed. A review
// another instance did first (the due time moved meanwhile) does nothing.
func (s *Store) ReviewTier(ctx context.Context, d TierReviewDue, rules balances.Rules, now time.Time) (bool, error) {
	now = utcMicro(now)
	return s.settle(ctx, "review tier", d.MemberID, func(tx *sql.Tx, l lockedAccount) (bool, error) {
		if l.erased {
			_, err := moveTierReview(ctx, tx, d, nil)
			return false, err
		}
		es, err := qualifyingEntries(ctx, tx, d.MemberID, rules.TierWindow, now)
		if err != nil {
			return false, err
		}
		var qualifying int64
		var nextAt *time.Time
		if rules.TierWindow > 0 {
			var next time.Time
			qualifying, next = balances.RollingQualifying(es, rules.TierWindow, now)
			if !next.IsZero() {
				nextAt = &next
			}
		} else {
			qualifying = balances.LifetimeQualifying(es)
		}
		if ok, err := moveTierReview(ctx, tx, d, nextAt); err != nil || !ok {
			return false, err
		}
		out := balances.Review(l.account, qualifying, rules)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET qualifying = $2, tier = $3 WHERE member_id = $1`,
			d.MemberID, out.Account.Qualifying, out.Account.Tier); err != nil {
			return false, fmt.Errorf("set qualifying points: %w", err)
		}
		if !out.TierChanged {
			return false, nil
		}
		if err := s.touchAccount(ctx, tx, d.MemberID, now, false); err != nil {
			return false, err
		}
		if err := addEvent(ctx, tx, d.MemberID, "tier_changed", tierEvent{out.OldTier, out.Account.Tier}, now); err != nil {
			return false, err
		}
		return true, emit(ctx, tx, d.MemberID, loyalty.EventTierChanged, tierWebhookEvent{d.MemberID, out.OldTier, out.Account.Tier}, now)
	})
}

// PostponeTierReview moves a member's tier review from d.Due to at,
// changing nothing else, and reports whether it still held d.Due.
func (s *Store) PostponeTierReview(ctx context.Context, d TierReviewDue, at time.Time) (bool, error) {
	var moved bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		moved, err = moveTierReview(ctx, tx, d, &at)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postpone tier review of %s: %w", d.MemberID, err)
	}
	return moved, nil
}

// moveTierReview moves a member's tier review from d.Due to next (NULL
// when nil) and reports whether it still held d.Due.
func moveTierReview(ctx context.Context, tx *sql.Tx, d TierReviewDue, next *time.Time) (bool, error) {
	return insertKey(ctx, tx, `UPDATE accounts SET tier_review_at = $3 WHERE member_id = $1 AND tier_review_at = $2`,
		d.MemberID, utcMicro(d.Due), nullTime(next))
}

// qualifyingEntries answers a member's entries that may count towards
// qualifying points under a tier window of window at now, in the order
// they were posted: those that occurred in the window, or all of them
// with a lifetime window (0).
func qualifyingEntries(ctx context.Context, tx *sql.Tx, memberID string, window time.Duration, now time.Time) ([]balances.QualifyingEntry, error) {
	query := `
		SELECT type, points, COALESCE(occurred_at, created_at) FROM entries
		WHERE member_id = $1 AND type IN ('earn', 'bonus', 'adjust')`
	args := []any{memberID}
	if window > 0 {
		query += ` AND COALESCE(occurred_at, created_at) > $2`
		args = append(args, now.Add(-window))
	}
	rows, err := tx.QueryContext(ctx, query+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("qualifying entries: %w", err)
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (balances.QualifyingEntry, error) {
		var e balances.QualifyingEntry
		var typ string
		err := row.Scan(&typ, &e.Points, ts{&e.OccurredAt})
		e.Type = balances.EntryType(typ)
		return e, err
	})
}

// tierEvent is the data of a "tier_changed" event.
type tierEvent struct {
	From string `json:"from"`
	To   string `json:"to"`
}
