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

// postTx is Post's transaction as an ordinary database/sql transaction,
// on either database: the lock, the programme's running campaigns for an
// earn with an amount, the entry and account as planPost decides and, for
// a stamp that fills the card, one voucher of rules.StampRewardID per goal
// reached (no points taken) with its "voucher_issued" event, and the
// account's open vouchers.
//
// A card filled when the stamp reward is unknown, inactive or of another
// programme is loyalty.ErrRewardUnavailable and writes nothing. A replay
// answers the entry's vouchers again.
func (s *Store) postTx(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	now := s.clock()
	var res PostResult
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.postBody(ctx, tx, now, memberID, idemKey, requestHash, req, rules)
		return err
	})
	return res, err
}

// postBody is the body of Post's transaction, in tx at time now: postTx
// runs it as a transaction of its own, a SQLite group commit (group.go)
// as one savepoint of a shared transaction.
func (s *Store) postBody(ctx context.Context, tx *sql.Tx, now time.Time, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	var res PostResult
	err := func() error {
		l, err := s.lockTx(ctx, tx, memberID, idemKey, req, rules, now)
		if err != nil {
			return err
		}
		plan, err := s.planPost(l, memberID, idemKey, requestHash, req, rules, now)
		if err != nil {
			return err
		}
		if plan.replay != "" {
			res = plan.res
			if res.Entry, err = entryByID(ctx, tx, plan.replay); err != nil || req.Type != balances.Stamp {
				return err
			}
			res.Vouchers, err = entryVouchers(ctx, tx, plan.replay)
			return err
		}
		var reward loyalty.Reward
		var program string
		if plan.vouchers > 0 {
			if reward, program, err = stampReward(ctx, tx, memberID, rules.StampRewardID); err != nil {
				return err
			}
		}
		if err := s.writeTx(ctx, tx, plan); err != nil {
			return err
		}
		res = plan.res
		if referralPending(l, req, rules) {
			// A referred member's first earn credits the referral here,
			// under the referee's lock, then the referrer's (see
			// referral.go).
			if res.Account, err = s.decideReferral(ctx, tx, memberID, res.Entry.ID, res.Account, max(now.Unix(), l.modified+1), rules, now); err != nil {
				return err
			}
		}
		if plan.vouchers == 0 {
			return nil
		}
		for range plan.vouchers {
			code, err := loyalty.NewVoucherCode()
			if err != nil {
				return fmt.Errorf("voucher code: %w", err)
			}
			v := loyalty.Voucher{Code: code, MemberID: memberID, Program: program, RewardID: reward.ID,
				EntryID: res.Entry.ID, Status: loyalty.VoucherUnused, CreatedAt: now,
				ExpiresAt: loyalty.VoucherExpiry(reward, now)}
			if err := issueVoucher(ctx, tx, v); err != nil {
				return err
			}
			res.Vouchers = append(res.Vouchers, v)
		}
		return s.listOpenVouchers(ctx, tx, memberID, now)
	}()
	return res, err
}

// campaignsTx runs postCampaigns in tx.
func (s *Store) campaignsTx(ctx context.Context, tx *sql.Tx, memberID string, at time.Time) ([]balances.Campaign, error) {
	var rows *sql.Rows
	var err error
	if s.dialect == DialectPostgres {
		rows, err = tx.QueryContext(ctx, postCampaigns, memberID, at)
	} else {
		rows, err = tx.StmtContext(ctx, s.postStmts.campaigns).QueryContext(ctx, memberID, at)
	}
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	defer rows.Close()
	return scanRuleCampaigns(rows)
}

// lotsTx runs postLots in tx.
func (s *Store) lotsTx(ctx context.Context, tx *sql.Tx, memberID string) ([]balances.Lot, error) {
	var rows *sql.Rows
	var err error
	if s.dialect == DialectPostgres {
		rows, err = tx.QueryContext(ctx, postLots, memberID)
	} else {
		rows, err = tx.StmtContext(ctx, s.postStmts.lots).QueryContext(ctx, memberID)
	}
	if err != nil {
		return nil, fmt.Errorf("lots: %w", err)
	}
	defer rows.Close()
	return scanLots(rows)
}

// stampReward reads, in tx, the reward a member's full stamp card issues
// and the member's programme; a reward that is unknown, inactive or of
// another programme is loyalty.ErrRewardUnavailable.
func stampReward(ctx context.Context, tx *sql.Tx, memberID, rewardID string) (loyalty.Reward, string, error) {
	var program string
	if err := tx.QueryRowContext(ctx, `SELECT program FROM members WHERE id = $1`, memberID).Scan(&program); err != nil {
		return loyalty.Reward{}, "", fmt.Errorf("member program: %w", err)
	}
	r, err := scanReward(tx.QueryRowContext(ctx, `SELECT `+rewardCols+` FROM rewards WHERE id = $1`, rewardID))
	if errors.Is(err, ErrNotFound) || (err == nil && (!r.Active || r.Program != program)) {
		return loyalty.Reward{}, "", fmt.Errorf("stamp reward %q: %w", rewardID, loyalty.ErrRewardUnavailable)
	}
	if err != nil {
		return loyalty.Reward{}, "", fmt.Errorf("stamp reward %q: %w", rewardID, err)
	}
	return r, program, nil
}

// entryVouchers answers the vouchers an entry issued, oldest first.
func entryVouchers(ctx context.Context, q queryer, entryID string) ([]loyalty.Voucher, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+voucherCols+` FROM vouchers WHERE entry_id = $1 ORDER BY created_at, code`, entryID)
	if err != nil {
		return nil, fmt.Errorf("vouchers of entry %s: %w", entryID, err)
	}
	out, err := collect(rows, func(row interface{ Scan(...any) error }) (loyalty.Voucher, error) { return scanVoucher(row) })
	if err != nil {
		return nil, fmt.Errorf("vouchers of entry %s: %w", entryID, err)
	}
	return out, nil
}
