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

// Referral bonuses are decided on the referee's first earn, in the earn's
// own transaction, under the referee's lock:
//
//   - Exactly once: the decision is a referral_credits row keyed by the
//     referee, inserted with ON CONFLICT DO NOTHING. A second earn racing
//     the first waits for the referee's lock, then finds the row (or the
//     first earn) and credits nothing.
//   - No deadlock between earns: the referee's transaction also locks the
//     referrer's account, always second. The referrer enrolled before the
//     referee (the code existed at the referee's enrolment), so every such
//     wait goes from a newer member to an older one and no cycle of earns
//     can form. A cycle with a programme-wide batch (messages, tier marks,
//     which lock many accounts) is still possible on PostgreSQL; its
//     deadlock detector or lock_timeout then ends the earn as
//     request_in_progress, which the till retries under the same
//     Idempotency-Key.
//
// On PostgreSQL a plain earn keeps its two round trips: the lock's round
// trip reads whether the referral is open, and only then does the earn
// leave the pipelined path (errReferralPath) for the ordinary transaction.

// errReferralPath sends a Post from the pipelined PostgreSQL path to the
// ordinary transaction, which decides the referral.
var errReferralPath = errors.New("referred member's first earn")

// referralPending reports whether a Post must decide the member's referral:
// an earn by a referred member whose referral is undecided, in a programme
// with a referral bonus.
func referralPending(l postLocked, req balances.Request, rules balances.Rules) bool {
	return req.Type == balances.Earn && l.referralOpen.Valid && l.referralOpen.Bool && rules.Referral != nil
}

// decideReferral decides the referral of referee, whose earn entryID was
// just written in tx leaving its account at a (pass modified at modified):
// it records the decision and, when a bonus is due, credits both sides.
// It answers the referee's account after.
func (s *Store) decideReferral(ctx context.Context, tx *sql.Tx, refereeID, entryID string, a Account, modified int64, rules balances.Rules, now time.Time) (Account, error) {
	var referee, referrer loyalty.Member
	var referrerErased, earlier bool
	err := tx.QueryRowContext(ctx, `
		SELECT e.id, e.email, e.referred_by, r.id, r.email, r.erased_at IS NOT NULL,
		       EXISTS (SELECT 1 FROM entries x WHERE x.member_id = e.id AND x.type = 'earn' AND x.id <> $2)
		FROM members e JOIN members r ON r.id = e.referred_by
		WHERE e.id = $1`, refereeID, entryID).
		Scan(&referee.ID, &referee.Email, &referee.ReferredBy, &referrer.ID, &referrer.Email, &referrerErased, &earlier)
	if err != nil {
		return Account{}, fmt.Errorf("read referral: %w", err)
	}
	due := !earlier && !referrerErased && loyalty.ReferralEligible(referee, referrer)
	var give balances.ReferralPoints
	if due {
		give = *rules.Referral
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO referral_credits (referee_id, referrer_id, referee_points, referrer_points, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (referee_id) DO NOTHING`,
		refereeID, referrer.ID, give.Referee, give.Referrer, now)
	if err != nil {
		return Account{}, fmt.Errorf("record referral: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		// Decided by another transaction already (or unknowable): nothing more.
		return a, err
	}
	if give.Referee > 0 {
		if a, err = s.credit(ctx, tx, refereeID, a, modified, give.Referee, balances.ReasonReferral, rules, now); err != nil {
			return Account{}, err
		}
	}
	if give.Referrer > 0 {
		// The referrer's lock, taken second (see the comment at the top).
		var ra Account
		var rmod int64
		var erased bool
		err := tx.QueryRowContext(ctx, s.q(`
			SELECT points, lifetime, qualifying, tier, pass_version, pass_modified, erased
			FROM accounts WHERE member_id = $1 {{for_update}}`), referrer.ID).
			Scan(&ra.Points, &ra.Lifetime, &ra.Qualifying, &ra.Tier, &ra.PassVersion, &rmod, &erased)
		if err != nil {
			return Account{}, fmt.Errorf("lock referrer: %w", err)
		}
		if !erased {
			if _, err := s.credit(ctx, tx, referrer.ID, ra, max(now.Unix(), rmod+1), give.Referrer, balances.ReasonReferral, rules, now); err != nil {
				return Account{}, err
			}
		}
	}
	return a, nil
}

// credit writes a bonus entry of points for a member whose account, locked
// in tx, is a: the entry, the account (balance, lifetime, qualifying, tier,
// pass version and modified time at least modified, update sequence, the
// tier review of a rolling tier window), a
// tier_changed event when the tier moves, and the dirty marks of both
// channels. It answers the account after.
func (s *Store) credit(ctx context.Context, tx *sql.Tx, memberID string, a Account, modified, points int64, reason string, rules balances.Rules, now time.Time) (Account, error) {
	out := balances.Credit(a, points, rules)
	e, err := insertBonus(ctx, tx, memberID, points, out.Account.Points, reason, now)
	if err != nil {
		return Account{}, err
	}
	if err := insertLot(ctx, tx, rules.Expiry, e); err != nil {
		return Account{}, err
	}
	if err := s.bumpSeq(ctx, tx); err != nil {
		return Account{}, err
	}
	n := out.Account
	if _, err := tx.ExecContext(ctx, s.q(`
		UPDATE accounts SET points = $2, lifetime = $3, qualifying = $4, tier = $5, pass_version = $6,
			pass_modified = CASE WHEN pass_modified + 1 > $7 THEN pass_modified + 1 ELSE $7 END,
			{{set_update_seq}}
		WHERE member_id = $1`),
		memberID, n.Points, n.Lifetime, n.Qualifying, n.Tier, n.PassVersion, modified); err != nil {
		return Account{}, fmt.Errorf("credit %s bonus: %w", reason, err)
	}
	if err := lowerTierReview(ctx, tx, memberID, a, n, rules, now); err != nil {
		return Account{}, err
	}
	if out.TierChanged {
		if err := addEvent(ctx, tx, memberID, "tier_changed", tierEvent{out.OldTier, n.Tier}, now); err != nil {
			return Account{}, err
		}
		if err := emit(ctx, tx, memberID, loyalty.EventTierChanged, tierWebhookEvent{memberID, out.OldTier, n.Tier}, now); err != nil {
			return Account{}, err
		}
	}
	if err := s.markDirty(ctx, tx, memberID, n.PassVersion, now); err != nil {
		return Account{}, err
	}
	return n, nil
}

// backfillBatch bounds the members BackfillReferralCodes reads at a time.
const backfillBatch = 500

// BackfillReferralCodes gives every member without a referral code (those
// enrolled before migration 0019) a fresh one, drawing again on a
// collision, and answers how many it gave. It is safe to run from several
// instances at once: a member that got a code meanwhile keeps it.
func (s *Store) BackfillReferralCodes(ctx context.Context) (int, error) {
	total := 0
	for {
		rows, err := s.w.QueryContext(ctx, `SELECT id, program FROM members WHERE referral_code IS NULL ORDER BY id LIMIT $1`, backfillBatch)
		if err != nil {
			return total, fmt.Errorf("backfill referral codes: %w", translate(err))
		}
		type member struct{ id, program string }
		var ms []member
		for rows.Next() {
			var m member
			if err := rows.Scan(&m.id, &m.program); err != nil {
				rows.Close()
				return total, fmt.Errorf("backfill referral codes: %w", err)
			}
			ms = append(ms, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("backfill referral codes: %w", err)
		}
		if len(ms) == 0 {
			return total, nil
		}
		for _, m := range ms {
			if err := s.giveReferralCode(ctx, m.id); err != nil {
				return total, err
			}
			total++
		}
	}
}

// giveReferralCode sets a member's missing referral code.
func (s *Store) giveReferralCode(ctx context.Context, memberID string) error {
	for range 5 {
		code, err := loyalty.NewReferralCode()
		if err != nil {
			return err
		}
		_, err = s.w.ExecContext(ctx, `UPDATE members SET referral_code = $2 WHERE id = $1 AND referral_code IS NULL`, memberID, code)
		if _, dup := uniqueViolation(err); dup {
			continue
		}
		if err != nil {
			return fmt.Errorf("give referral code to %s: %w", memberID, translate(err))
		}
		return nil
	}
	return fmt.Errorf("give referral code to %s: five taken codes in a row", memberID)
}
