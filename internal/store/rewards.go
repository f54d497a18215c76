package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// Redemption is the outcome of Redeem: the voucher issued and the redeem
// entry that paid for it.
type Redemption struct {
	Voucher loyalty.Voucher
	PostResult
}

const rewardCols = `id, program, name, description, cost_points, min_tier, valid_days, active, created_at, updated_at`

func scanReward(row interface{ Scan(...any) error }) (loyalty.Reward, error) {
	var r loyalty.Reward
	err := row.Scan(&r.ID, &r.Program, &r.Name, &r.Description, &r.CostPoints, &r.MinTier, &r.ValidDays, &r.Active,
		ts{&r.CreatedAt}, ts{&r.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return loyalty.Reward{}, ErrNotFound
	}
	return r, err
}

// CreateReward stores a new reward (r.ID set by the caller) and answers it
// with its times set to now.
func (s *Store) CreateReward(ctx context.Context, r loyalty.Reward) (loyalty.Reward, error) {
	now := s.clock()
	r.CreatedAt, r.UpdatedAt = now, now
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rewards (`+rewardCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			r.ID, r.Program, r.Name, r.Description, r.CostPoints, r.MinTier, r.ValidDays, r.Active, now, now)
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return loyalty.Reward{}, fmt.Errorf("create reward: %w", err)
	}
	return r, nil
}

// UpdateReward replaces the changeable fields of the reward r.ID (name,
// description, cost, minimum tier, validity, active) and answers it. An
// unknown reward is ErrNotFound. Vouchers issued before keep their expiry.
func (s *Store) UpdateReward(ctx context.Context, r loyalty.Reward) (loyalty.Reward, error) {
	now := s.clock()
	var out loyalty.Reward
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rewards SET name = $2, description = $3, cost_points = $4, min_tier = $5,
			valid_days = $6, active = $7, updated_at = $8 WHERE id = $1`,
			r.ID, r.Name, r.Description, r.CostPoints, r.MinTier, r.ValidDays, r.Active, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, ErrNotFound)
		}
		out, err = scanReward(tx.QueryRowContext(ctx, `SELECT `+rewardCols+` FROM rewards WHERE id = $1`, r.ID))
		return err
	})
	if err != nil {
		return loyalty.Reward{}, fmt.Errorf("update reward %s: %w", r.ID, err)
	}
	return out, nil
}

func cmpErr(err, or error) error {
	if err != nil {
		return err
	}
	return or
}

// Reward answers the reward with the given id; an unknown one is
// ErrNotFound.
func (s *Store) Reward(ctx context.Context, id string) (loyalty.Reward, error) {
	r, err := scanReward(s.rd.QueryRowContext(ctx, `SELECT `+rewardCols+` FROM rewards WHERE id = $1`, id))
	if err != nil {
		return loyalty.Reward{}, fmt.Errorf("reward %s: %w", id, translate(err))
	}
	return r, nil
}

// Rewards answers a programme's rewards, oldest first; activeOnly leaves
// the inactive ones out.
func (s *Store) Rewards(ctx context.Context, program string, activeOnly bool) ([]loyalty.Reward, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+rewardCols+` FROM rewards
		WHERE program = $1 AND (active OR NOT $2) ORDER BY created_at, id`, program, activeOnly)
	if err != nil {
		return nil, fmt.Errorf("rewards of %s: %w", program, translate(err))
	}
	out, err := collect(rows, scanReward)
	if err != nil {
		return nil, fmt.Errorf("rewards of %s: %w", program, translate(err))
	}
	return out, nil
}

// RewardsPage answers a page of a programme's rewards, active and
// inactive, oldest first, and the cursor of the next page ("" after the
// last). limit is clamped to 1..MaxPageSize (DefaultPageSize when 0 or
// less); a cursor RewardsPage did not answer is ErrBadCursor.
func (s *Store) RewardsPage(ctx context.Context, program, cursor string, limit int) ([]loyalty.Reward, string, error) {
	return keysetPage(ctx, s.rd, "rewards of "+program, `SELECT `+rewardCols+` FROM rewards WHERE program = $1`, []any{program},
		"created_at", "id", false, cursor, limit, scanReward, func(r loyalty.Reward) (time.Time, string) { return r.CreatedAt, r.ID })
}

const voucherCols = `code, member_id, program, reward_id, entry_id, status, created_at, expires_at, used_at`

func scanVoucher(row interface{ Scan(...any) error }, extra ...any) (loyalty.Voucher, error) {
	var v loyalty.Voucher
	dest := append([]any{&v.Code, &v.MemberID, &v.Program, &v.RewardID, &v.EntryID, &v.Status,
		ts{&v.CreatedAt}, ts{&v.ExpiresAt}, nts{&v.UsedAt}}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return loyalty.Voucher{}, ErrNotFound
	}
	return v, err
}

// Voucher answers the voucher with the given code; an unknown one is
// ErrNotFound.
func (s *Store) Voucher(ctx context.Context, code string) (loyalty.Voucher, error) {
	v, err := scanVoucher(s.rd.QueryRowContext(ctx, `SELECT `+voucherCols+` FROM vouchers WHERE code = $1`, code))
	if err != nil {
		return loyalty.Voucher{}, fmt.Errorf("voucher: %w", translate(err))
	}
	return v, nil
}

// Vouchers answers a member's vouchers: the unused ones first, each group
// newest first.
func (s *Store) Vouchers(ctx context.Context, memberID string) ([]loyalty.Voucher, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+voucherCols+` FROM vouchers WHERE member_id = $1
		ORDER BY CASE WHEN status = 'unused' THEN 0 ELSE 1 END, created_at DESC, code`, memberID)
	if err != nil {
		return nil, fmt.Errorf("vouchers of %s: %w", memberID, translate(err))
	}
	out, err := collect(rows, func(row interface{ Scan(...any) error }) (loyalty.Voucher, error) { return scanVoucher(row) })
	if err != nil {
		return nil, fmt.Errorf("vouchers of %s: %w", memberID, translate(err))
	}
	return out, nil
}

// voucherEvent is the data of the "voucher_issued" and "voucher_used"
// events, which the export lists (and webhooks will carry).
type voucherEvent struct {
	Code     string `json:"code"`
	RewardID string `json:"reward_id"`
}

// errVoucherCodeTaken is a unique violation on a new voucher's code: Redeem
// draws another and tries again.
var errVoucherCodeTaken = errors.New("voucher code taken")

// Redeem buys reward for a member of program p in one transaction, under
// the member's lock and idemKey: a redeem entry of the reward's cost
// (reference "reward:<id>"), the account, the idempotency key, the dirty
// marks (as Post writes them), a voucher expiring valid_days later,
// listed on the account for the card, and a "voucher_issued" event.
//
// A key already used with the same requestHash answers the stored entry,
// its voucher and the current account with Replayed set, and writes
// nothing (even if the reward changed since); with another hash it is
// balances.ErrIdempotencyConflict. Otherwise an inactive reward or one of
// another programme is loyalty.ErrRewardUnavailable, a tier below the
// reward's min_tier loyalty.ErrTierRequired, a balance short of the cost
// balances.ErrInsufficientPoints; nothing is written then. An unknown or
// erased member is loyalty.ErrMemberNotFound.
func (s *Store) Redeem(ctx context.Context, memberID, idemKey, requestHash string, reward loyalty.Reward, p *loyalty.Program) (Redemption, error) {
	if idemKey == "" {
		v := &balances.ValidationError{}
		v.Add("idempotency_key", "is required")
		return Redemption{}, v
	}
	for attempt := 1; ; attempt++ {
		res, err := s.redeem(ctx, memberID, idemKey, requestHash, reward, p)
		if (errors.Is(err, errIdempotencyRace) || errors.Is(err, errVoucherCodeTaken)) && attempt < 5 {
			continue
		}
		if err != nil {
			return Redemption{}, fmt.Errorf("redeem reward %s for member %s: %w", reward.ID, memberID, requestInProgress(err))
		}
		return res, nil
	}
}

func (s *Store) redeem(ctx context.Context, memberID, idemKey, requestHash string, reward loyalty.Reward, p *loyalty.Program) (Redemption, error) {
	code, err := loyalty.NewVoucherCode()
	if err != nil {
		return Redemption{}, fmt.Errorf("voucher code: %w", err)
	}
	now := s.clock()
	var res Redemption
	err = s.write(ctx, func(tx *sql.Tx) error {
		req := balances.Request{Type: balances.Redeem, Points: reward.CostPoints, Reference: "reward:" + reward.ID}
		rules := p.Rules()
		l, err := s.lockTx(ctx, tx, memberID, idemKey, req, rules, now)
		if err != nil {
			return err
		}
		if l.hash.Valid {
			if l.hash.String != requestHash {
				return balances.ErrIdempotencyConflict
			}
			res.Account, res.Replayed = l.account, true
			if res.Entry, err = entryByID(ctx, tx, l.entryID.String); err != nil {
				return err
			}
			res.Voucher, err = scanVoucher(tx.QueryRowContext(ctx, `SELECT `+voucherCols+` FROM vouchers WHERE entry_id = $1`, l.entryID.String))
			if errors.Is(err, ErrNotFound) {
				// The key paid for a plain transaction: another request.
				return balances.ErrIdempotencyConflict
			}
			return err
		}
		if err := reward.CanRedeem(p, l.account.Tier); err != nil {
			return err
		}
		plan, err := s.planPost(l, memberID, idemKey, requestHash, req, rules, now)
		if err != nil {
			return err
		}
		if err := s.writeTx(ctx, tx, plan); err != nil {
			return err
		}
		res.PostResult = plan.res
		res.Voucher = loyalty.Voucher{Code: code, MemberID: memberID, Program: p.ID, RewardID: reward.ID,
			EntryID: plan.res.Entry.ID, Status: loyalty.VoucherUnused, CreatedAt: now,
			ExpiresAt: loyalty.VoucherExpiry(reward, now)}
		if err := issueVoucher(ctx, tx, res.Voucher); err != nil {
			return err
		}
		return s.listOpenVouchers(ctx, tx, memberID, now)
	})
	return res, err
}

// lockTx runs postLock in tx: the member's lock and the key's earlier use;
// and, when req needs them and the key is new, the campaigns running at
// the sale's time (now when not given) and the member's open lots.
func (s *Store) lockTx(ctx context.Context, tx *sql.Tx, memberID, idemKey string, req balances.Request, rules balances.Rules, now time.Time) (postLocked, error) {
	var row *sql.Row
	if s.dialect == DialectPostgres {
		row = tx.QueryRowContext(ctx, s.q(postLock), memberID, idemKey)
	} else {
		row = tx.StmtContext(ctx, s.postStmts.lock).QueryRowContext(ctx, memberID, idemKey)
	}
	l, err := scanPostLocked(row)
	if err != nil || l.hash.Valid {
		return l, err
	}
	if needsCampaigns(req) {
		if l.campaigns, err = s.campaignsTx(ctx, tx, memberID, occurredAt(req, now)); err != nil {
			return postLocked{}, err
		}
	}
	if needsLots(req, rules) {
		if l.lots, err = s.lotsTx(ctx, tx, memberID); err != nil {
			return postLocked{}, err
		}
	}
	return l, nil
}

// writeTx runs a plan's postWrite in tx.
func (s *Store) writeTx(ctx context.Context, tx *sql.Tx, plan postPlan) error {
	var err error
	if s.dialect == DialectPostgres {
		_, err = tx.ExecContext(ctx, plan.postgresWrite(), plan.postgresArgs()...)
	} else {
		err = s.postStmts.write(ctx, tx, plan)
	}
	if err != nil {
		return writeError(err)
	}
	return nil
}

// issueVoucher inserts v and its "voucher_issued" event in tx; a code
// already taken is errVoucherCodeTaken.
func issueVoucher(ctx context.Context, tx *sql.Tx, v loyalty.Voucher) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO vouchers (code, member_id, program, reward_id, entry_id, status, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.Code, v.MemberID, v.Program, v.RewardID, v.EntryID, v.Status, v.CreatedAt, v.ExpiresAt)
	if name, ok := uniqueViolation(err); ok && strings.Contains(name, "vouchers") {
		return errVoucherCodeTaken
	}
	if err != nil {
		return fmt.Errorf("insert voucher: %w", err)
	}
	if err := addEvent(ctx, tx, v.MemberID, "voucher_issued", voucherEvent{v.Code, v.RewardID}, v.CreatedAt); err != nil {
		return err
	}
	return emit(ctx, tx, v.MemberID, loyalty.EventVoucherIssued, voucherWebhook(v), v.CreatedAt)
}

// UseVoucher marks the voucher code used, under its member's lock, and
// changes the card (pass version, dirty marks, the account's open
// vouchers) and records a "voucher_used" event in the same transaction. idemKey makes it safe to retry: the
// voucher used with the same key answers it again with replayed set and
// writes nothing. Used with another key it is loyalty.ErrVoucherUsed, past
// its expires_at loyalty.ErrVoucherExpired; an unknown code ErrNotFound,
// a voucher of an erased member loyalty.ErrMemberNotFound.
func (s *Store) UseVoucher(ctx context.Context, code, idemKey string) (v loyalty.Voucher, replayed bool, err error) {
	now := s.clock()
	err = s.write(ctx, func(tx *sql.Tx) error {
		var memberID string
		if err := tx.QueryRowContext(ctx, `SELECT member_id FROM vouchers WHERE code = $1`, code).Scan(&memberID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		// The account first: it is the member's lock, as in Post.
		var erased bool
		if err := tx.QueryRowContext(ctx, s.q(`SELECT erased FROM accounts WHERE member_id = $1 {{for_update}}`), memberID).
			Scan(&erased); errors.Is(err, sql.ErrNoRows) || (err == nil && erased) {
			return loyalty.ErrMemberNotFound
		} else if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		var usedKey sql.NullString
		var err error
		if v, err = scanVoucher(tx.QueryRowContext(ctx, `SELECT `+voucherCols+`, used_key FROM vouchers WHERE code = $1`, code), &usedKey); err != nil {
			return err
		}
		if v.Status == loyalty.VoucherUsed && usedKey.Valid && usedKey.String == idemKey {
			replayed = true
			return nil
		}
		if err := v.CanUse(now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vouchers SET status = $2, used_at = $3, used_key = $4 WHERE code = $1`,
			code, loyalty.VoucherUsed, now, idemKey); err != nil {
			return fmt.Errorf("mark voucher used: %w", err)
		}
		v.Status, v.UsedAt = loyalty.VoucherUsed, &now
		if err := s.touchAccount(ctx, tx, memberID, now, false); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, memberID, "voucher_used", voucherEvent{v.Code, v.RewardID}, now); err != nil {
			return err
		}
		if err := emit(ctx, tx, memberID, loyalty.EventVoucherUsed, voucherWebhook(v), now); err != nil {
			return err
		}
		return s.listOpenVouchers(ctx, tx, memberID, now)
	})
	if err != nil {
		return loyalty.Voucher{}, false, fmt.Errorf("use voucher: %w", err)
	}
	return v, replayed, nil
}

// listOpenVouchers writes the member's unused, unexpired vouchers to the
// account row, in tx, for the member read that builds the card.
func (s *Store) listOpenVouchers(ctx context.Context, tx *sql.Tx, memberID string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT v.code, r.name, v.expires_at FROM vouchers v JOIN rewards r ON r.id = v.reward_id
		WHERE v.member_id = $1 AND v.status = 'unused' AND v.expires_at > $2
		ORDER BY v.created_at, v.code`, memberID, now)
	if err != nil {
		return fmt.Errorf("open vouchers: %w", err)
	}
	defer rows.Close()
	var open []loyalty.OpenVoucher
	for rows.Next() {
		var o loyalty.OpenVoucher
		if err := rows.Scan(&o.Code, &o.Reward, ts{&o.ExpiresAt}); err != nil {
			return fmt.Errorf("open vouchers: %w", err)
		}
		open = append(open, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("open vouchers: %w", err)
	}
	text := ""
	if len(open) > 0 {
		b, err := json.Marshal(open)
		if err != nil {
			return fmt.Errorf("encode open vouchers: %w", err)
		}
		text = string(b)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET vouchers = $2 WHERE member_id = $1`, memberID, text); err != nil {
		return fmt.Errorf("list open vouchers: %w", err)
	}
	return nil
}

// decodeOpenVouchers reads accounts.vouchers.
func decodeOpenVouchers(text string) ([]loyalty.OpenVoucher, error) {
	if text == "" {
		return nil, nil
	}
	var out []loyalty.OpenVoucher
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("decode open vouchers: %w", err)
	}
	return out, nil
}
