package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// Page sizes of Entries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// errIdempotencyRace is a unique violation on the idempotency key: a
// concurrent request with the same key committed first. Post retries and
// then sees it as a replay.
var errIdempotencyRace = errors.New("idempotency key inserted concurrently")

// postLock locks the member's account and looks the idempotency key up, in
// one round trip. It also reads whether the member was referred and the
// referral is still undecided (no referral_credits row), which sends a
// first earn down the referral path (postReferral).
//
// On PostgreSQL a request that waited for the lock sees the latest account
// row (the lock rechecks it) but the key as of its snapshot, so a concurrent
// twin's key can be missed; the key's primary key then fails the write and
// Post retries, seeing the key.
const postLock = `
	SELECT a.points, a.lifetime, a.qualifying, a.tier, a.pass_version, a.pass_modified, a.erased,
	       k.request_hash, k.entry_id, a.stamps, a.cashback,
	       m.referred_by IS NOT NULL AND rc.referee_id IS NULL
	FROM accounts a
	LEFT JOIN idempotency_keys k ON k.member_id = a.member_id AND k.key = $2
	LEFT JOIN members m ON m.id = a.member_id
	LEFT JOIN referral_credits rc ON rc.referee_id = a.member_id
	WHERE a.member_id = $1 {{for_update_of_a}}`

// postCampaigns loads the campaigns of the member's programme running at
// the sale's time ($2), for an earn with an amount; it goes in the lock's
// round trip. campaigns_program_ends keeps it to the programme's campaigns
// that have not ended, a handful of rows.
const postCampaigns = `
	SELECT c.id, c.multiplier, c.starts_at, c.ends_at, c.days_of_week, c.local_from, c.local_to, c.min_tier
	FROM members m JOIN campaigns c ON c.program = m.program
	WHERE m.id = $1 AND c.ends_at > $2 AND c.starts_at <= $2`

// needsCampaigns reports whether a request's points depend on campaigns.
func needsCampaigns(req balances.Request) bool {
	return req.Type == balances.Earn && req.Amount != 0
}

// scanRuleCampaigns reads postCampaigns' rows.
func scanRuleCampaigns(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]balances.Campaign, error) {
	var out []balances.Campaign
	for rows.Next() {
		var c balances.Campaign
		var days string
		if err := rows.Scan(&c.ID, &c.MultiplierTenths, ts{&c.StartsAt}, ts{&c.EndsAt}, &days, &c.FromMinute, &c.ToMinute, &c.MinTier); err != nil {
			return nil, fmt.Errorf("campaigns: %w", err)
		}
		c.DaysOfWeek = parseDays(days)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	return out, nil
}

// postWrite writes a new entry and everything that moves with it. Its
// parameters:
//
//	$1 entry id      $2 member id     $3 type          $4 points (signed)
//	$5 balance after $6 reference     $7 now           $8 lifetime
//	$9 qualifying    $10 tier         $11 pass version $12 pass modified (unix s)
//	$13 idem key     $14 request hash $15 tier event data, '' for none
//	$16 when a card that turns dirty is due
//	$17 amount, NULL for none $18 base points $19 bonus points
//	$20 campaign id  $21 occurred at
//	$22 the entry's stamp count      $23 the entry's cashback change
//	$24 the account's stamps         $25 the account's cashback
//	$26 when the entry leaves a rolling tier window, NULL when it adds no
//	    qualifying points there (the account's tier review comes no later)
//	$27 transaction.posted event id  $28 its data
//	$29 tier.changed event id        $30 its data, '' for none
//
// The webhook events are written only when a live endpoint wants them
// (wantsSQL, as emit does); without endpoints they cost one probe of
// webhook_endpoints.
//
// In a programme with expiry, a credit also inserts its lot ($31 expires
// at, $32 remind at) and a debit also takes its points from the lots ($31
// lot ids, $32 what each has left): one more CTE or statement, only then.
//
// PostgreSQL runs it as one statement of data-modifying CTEs, one round trip.
var postWritePostgres = postWriteCTEs + markDirtySQL("$2", "$11", "$16", "$7")

// postWriteLotPostgres is postWritePostgres with the credit's new lot.
var postWriteLotPostgres = postWriteCTEs + `, lot AS (` + lotInsertSQL("$1", "$2", "$4", "$21", "$31", "$32") + `)
` + markDirtySQL("$2", "$11", "$16", "$7")

// postWriteConsumePostgres is postWritePostgres with the debit's lots.
var postWriteConsumePostgres = postWriteCTEs + `, lot AS (
		UPDATE lots SET remaining = u.remaining
		FROM unnest($31::text[], $32::bigint[]) AS u(id, remaining)
		WHERE lots.id = u.id
	)
` + markDirtySQL("$2", "$11", "$16", "$7")

// lotInsertSQL is the one statement that inserts a new lot, written with
// the caller's placeholders for the lot (entry) id, the member id, the
// points, the sale's time, the expiry and the reminder's time.
func lotInsertSQL(id, memberID, points, earnedAt, expiresAt, remindAt string) string {
	return `
	INSERT INTO lots (id, member_id, points, remaining, earned_at, expires_at, remind_at)
	VALUES (` + id + `, ` + memberID + `, ` + points + `, ` + points + `, ` + earnedAt + `, ` + expiresAt + `, ` + remindAt + `)`
}

// postWriteCTEs are the data-modifying CTEs of every PostgreSQL postWrite.
var postWriteCTEs = `
	WITH e AS (
		INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at,
			amount, base_points, bonus_points, campaign_id, occurred_at, stamps, cashback)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $17, $18, $19, $20, $21, $22, $23)
	), a AS (
		UPDATE accounts SET points = $5, lifetime = $8, qualifying = $9, tier = $10, stamps = $24, cashback = $25,
			pass_version = $11, pass_modified = $12, last_activity_at = $7, dormant_at = NULL,
			tier_review_at = CASE WHEN $26::timestamptz IS NULL OR tier_review_at <= $26::timestamptz THEN tier_review_at ELSE $26::timestamptz END,
			update_seq = nextval('update_seq'), update_xid = pg_current_xact_id()
		WHERE member_id = $2
	), k AS (
		INSERT INTO idempotency_keys (member_id, key, request_hash, entry_id, created_at)
		VALUES ($2, $13, $14, $1, $7)
	), ev AS (
		INSERT INTO events (member_id, kind, data, created_at)
		SELECT $2, 'tier_changed', $15::text, $7 WHERE $15::text <> ''
	), whe AS (
		INSERT INTO webhook_events (id, member_id, type, data, created_at)
		SELECT v.id, $2, v.type, v.data, $7
		FROM (VALUES (1, $27::text, 'transaction.posted', $28::text), (2, $29::text, 'tier.changed', $30::text)) AS v (o, id, type, data)
		WHERE v.data <> '' AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE ` + wantsSQL("v.type", "$2") + `)
		ORDER BY v.o
		RETURNING seq, type
	), whd AS (
		INSERT INTO webhook_deliveries (endpoint_id, event_seq, member_id, state, attempts, next_at, lease, created_at)
		SELECT w.id, whe.seq, $2, 'pending', 0, $7, '', $7
		FROM whe JOIN webhook_endpoints w ON ` + wantsSQL("whe.type", "$2") + `
	)`

// postWriteSQLite is postWritePostgres as SQLite statements, run by one Exec
// (SQLite has no data-modifying CTEs; statements cost no round trip).
var postWriteSQLite = `
	UPDATE counters SET value = value + 1 WHERE name = 'update_seq';
	INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at,
		amount, base_points, bonus_points, campaign_id, occurred_at, stamps, cashback)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $17, $18, $19, $20, $21, $22, $23);
	UPDATE accounts SET points = $5, lifetime = $8, qualifying = $9, tier = $10, stamps = $24, cashback = $25,
		pass_version = $11, pass_modified = $12, last_activity_at = $7, dormant_at = NULL,
		tier_review_at = CASE WHEN $26 IS NULL OR tier_review_at <= $26 THEN tier_review_at ELSE $26 END,
		update_seq = (SELECT value FROM counters WHERE name = 'update_seq')
	WHERE member_id = $2;
	INSERT INTO idempotency_keys (member_id, key, request_hash, entry_id, created_at)
	VALUES ($2, $13, $14, $1, $7);
	INSERT INTO events (member_id, kind, data, created_at)
	SELECT $2, 'tier_changed', $15, $7 WHERE $15 <> '';
	INSERT INTO webhook_events (id, member_id, type, data, created_at)
	SELECT $27, $2, 'transaction.posted', $28, $7
	WHERE EXISTS (SELECT 1 FROM webhook_endpoints w WHERE ` + wantsSQL("'transaction.posted'", "$2") + `)
	UNION ALL
	SELECT $29, $2, 'tier.changed', $30, $7
	WHERE $30 <> '' AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE ` + wantsSQL("'tier.changed'", "$2") + `);
	INSERT INTO webhook_deliveries (endpoint_id, event_seq, member_id, state, attempts, next_at, lease, created_at)
	SELECT w.id, e.seq, e.member_id, 'pending', 0, e.created_at, '', e.created_at
	FROM webhook_events e JOIN webhook_endpoints w ON ` + wantsSQL("e.type", "e.member_id") + `
	WHERE e.id IN ($27, $29);
` + markDirtySQL("$2", "$11", "$16", "$7")

// postLots loads a member's open lots, for a debit in a programme with
// expiry; it goes in the lock's round trip. Which lots the debit takes is
// balances.Consume's choice.
const postLots = `SELECT id, points, remaining, earned_at, expires_at FROM lots WHERE member_id = $1 AND remaining > 0`

// needsLots reports whether a request takes its points from the lots.
func needsLots(req balances.Request, rules balances.Rules) bool {
	return rules.Expiry != nil && balances.ConsumesLots(req.Type, req.Delta())
}

// scanLots reads postLots' rows.
func scanLots(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]balances.Lot, error) {
	var out []balances.Lot
	for rows.Next() {
		var l balances.Lot
		if err := rows.Scan(&l.ID, &l.Points, &l.Remaining, ts{&l.EarnedAt}, ts{&l.ExpiresAt}); err != nil {
			return nil, fmt.Errorf("lots: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lots: %w", err)
	}
	return out, nil
}

// postStmts are Post's SQLite statements, prepared once.
type postStmts struct {
	lock, campaigns, lots *sql.Stmt
	// lotInsert inserts a credit's lot with Post's parameters;
	// lotConsume sets one lot's remaining points ($1 id, $2 remaining).
	lotInsert, lotConsume *sql.Stmt
	// savepoint, release and rollbackTo hold each Post of a group
	// commit (group.go) in a savepoint of its own.
	savepoint, release, rollbackTo *sql.Stmt
	writes                         []*sql.Stmt
	// fanout is the index in writes of the webhook deliveries statement,
	// skipped when the statement before it wrote no webhook event (no
	// endpoint wants one: the usual case).
	fanout int
}

// preparePost prepares postLock and each statement of postWriteSQLite on
// the SQLite writer pool (one connection, so each is parsed once for the
// life of the store).
func preparePost(ctx context.Context, s *Store) (*postStmts, error) {
	p := &postStmts{}
	var err error
	if p.lock, err = s.w.PrepareContext(ctx, s.q(postLock)); err != nil {
		return nil, fmt.Errorf("prepare post lock: %w", err)
	}
	if p.campaigns, err = s.w.PrepareContext(ctx, postCampaigns); err != nil {
		p.close()
		return nil, fmt.Errorf("prepare post campaigns: %w", err)
	}
	for _, st := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&p.lots, postLots},
		{&p.lotInsert, lotInsertSQL("$1", "$2", "$4", "$21", "$31", "$32")},
		{&p.lotConsume, `UPDATE lots SET remaining = $2 WHERE id = $1`},
		{&p.savepoint, `SAVEPOINT post`},
		{&p.release, `RELEASE post`},
		{&p.rollbackTo, `ROLLBACK TO post`},
	} {
		if *st.dst, err = s.w.PrepareContext(ctx, st.query); err != nil {
			p.close()
			return nil, fmt.Errorf("prepare post statements: %w", err)
		}
	}
	for _, q := range strings.Split(postWriteSQLite, ";") {
		if strings.TrimSpace(q) == "" {
			continue
		}
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("prepare post write: %w", err)
		}
		if strings.HasPrefix(strings.TrimSpace(q), "INSERT INTO webhook_deliveries") {
			p.fanout = len(p.writes)
		}
		p.writes = append(p.writes, st)
	}
	if p.fanout == 0 {
		p.close()
		return nil, errors.New("prepare post write: no webhook deliveries statement")
	}
	return p, nil
}

// write runs the write statements of plan in tx, each with all of Post's
// parameters (a statement binds the $N it names), then its lot's insert
// or the update of each lot it took points from.
func (p *postStmts) write(ctx context.Context, tx *sql.Tx, plan postPlan) error {
	var events int64
	for i, st := range p.writes {
		if i == p.fanout && events == 0 {
			continue
		}
		res, err := tx.StmtContext(ctx, st).ExecContext(ctx, plan.args...)
		if err != nil {
			return err
		}
		if i == p.fanout-1 {
			if events, err = res.RowsAffected(); err != nil {
				return err
			}
		}
	}
	if plan.lot != nil {
		if _, err := tx.StmtContext(ctx, p.lotInsert).ExecContext(ctx, plan.args...); err != nil {
			return err
		}
	}
	for _, l := range plan.consumed {
		if _, err := tx.StmtContext(ctx, p.lotConsume).ExecContext(ctx, l.ID, l.Remaining); err != nil {
			return err
		}
	}
	return nil
}

func (p *postStmts) close() {
	for _, st := range append([]*sql.Stmt{p.lock, p.campaigns, p.lots, p.lotInsert, p.lotConsume, p.savepoint, p.release, p.rollbackTo}, p.writes...) {
		if st != nil {
			st.Close()
		}
	}
}

// Post posts a ledger entry for a member in one transaction, under the
// member's lock: the entry, the account (balance, tier, pass version, pass
// modified time, last activity, update sequence and, on PostgreSQL,
// transaction id), the idempotency key, a "tier_changed" event when the
// tier moves, the dirty marks of both channels, and the webhook events
// transaction.posted and tier.changed for the endpoints that want them. A
// stamp that fills the card also issues, in the same transaction, one
// voucher of rules.StampRewardID per goal reached (see postTx). On SQLite,
// Posts that arrive together share one transaction and its commit, each
// in a savepoint of its own (group.go); each is answered once that commit
// returned.
//
// A key already used with the same requestHash answers the stored entry and
// the current account with Replayed set, and writes nothing; with another
// hash it is balances.ErrIdempotencyConflict. An entry that would overdraw
// is balances.ErrInsufficientPoints and writes nothing; an invalid request
// is a *balances.ValidationError. An unknown or erased member is
// loyalty.ErrMemberNotFound. A lock held past Options.LockTimeout is
// balances.ErrRequestInProgress.
func (s *Store) Post(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	// The request itself is checked by the domain (balances.Apply) under
	// the lock; the store checks only what it needs to persist.
	if idemKey == "" {
		v := &balances.ValidationError{}
		v.Add("idempotency_key", "is required")
		return PostResult{}, v
	}
	for attempt := 1; ; attempt++ {
		res, err := s.post(ctx, memberID, idemKey, requestHash, req, rules)
		if (errors.Is(err, errIdempotencyRace) && attempt < 3) || (errors.Is(err, errVoucherCodeTaken) && attempt < 5) {
			continue
		}
		if err != nil {
			return PostResult{}, fmt.Errorf("post %s for member %s: %w", req.Type, memberID, requestInProgress(err))
		}
		return res, nil
	}
}

// postLocked is postLock's row: the account as locked and the key's
// earlier use, if any.
type postLocked struct {
	account       Account
	modified      int64
	erased        bool
	hash, entryID sql.NullString
	// referralOpen is true for a referred member whose referral is not
	// decided yet.
	referralOpen sql.NullBool
	// campaigns are the programme's campaigns running at the sale's
	// time, loaded only when the request needs them.
	campaigns []balances.Campaign
	// lots are the member's open lots, loaded only for a debit in a
	// programme with expiry.
	lots []balances.Lot
}

func scanPostLocked(row interface{ Scan(...any) error }) (postLocked, error) {
	var l postLocked
	a := &l.account
	err := row.Scan(&a.Points, &a.Lifetime, &a.Qualifying, &a.Tier, &a.PassVersion, &l.modified, &l.erased,
		&l.hash, &l.entryID, &a.Stamps, &a.Cashback, &l.referralOpen)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && l.erased) {
		return postLocked{}, loyalty.ErrMemberNotFound
	}
	if err != nil {
		return postLocked{}, fmt.Errorf("lock account: %w", err)
	}
	return l, nil
}

// postPlan is what Post does once it holds the lock: answer a replay of
// the entry replay, or run postWrite with args and answer res (and issue
// vouchers of the stamp reward, for a stamp that filled the card). lot is
// a credit's new lot, consumed the lots a debit took points from, as they
// are after it.
type postPlan struct {
	replay   string
	args     []any
	res      PostResult
	vouchers int64
	lot      *balances.Lot
	consumed []balances.Lot
}

// postgresWrite is the PostgreSQL postWrite statement of the plan.
func (p postPlan) postgresWrite() string {
	switch {
	case p.lot != nil:
		return postWriteLotPostgres
	case len(p.consumed) > 0:
		return postWriteConsumePostgres
	}
	return postWritePostgres
}

// postgresArgs are the parameters of postgresWrite: Post's, and the lots
// a debit took points from as arrays of ids and of what each has left.
func (p postPlan) postgresArgs() []any {
	if len(p.consumed) == 0 {
		return p.args
	}
	ids, left := make([]string, len(p.consumed)), make([]int64, len(p.consumed))
	for i, c := range p.consumed {
		ids[i], left[i] = c.ID, c.Remaining
	}
	return append(p.args[:len(p.args):len(p.args)], ids, left)
}

// planPost decides a Post from its locked row, at time now.
func (s *Store) planPost(l postLocked, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules, now time.Time) (postPlan, error) {
	if l.hash.Valid {
		if l.hash.String != requestHash {
			return postPlan{}, balances.ErrIdempotencyConflict
		}
		return postPlan{replay: l.entryID.String, res: PostResult{Account: l.account, Replayed: true}}, nil
	}
	req.OccurredAt, req.PostedAt = occurredAt(req, now), now
	rules.Campaigns = l.campaigns
	out, err := balances.Apply(l.account, req, rules)
	if err != nil {
		return postPlan{}, err
	}
	// Version 7: time-ordered, so the unique index on entries.id grows at
	// its right edge instead of dirtying random pages.
	id, err := uuid.NewV7()
	if err != nil {
		return postPlan{}, fmt.Errorf("entry id: %w", err)
	}
	e := Entry{
		ID:           id.String(),
		MemberID:     memberID,
		Type:         req.Type,
		Points:       out.Delta,
		BalanceAfter: out.Account.Points,
		Reference:    req.Reference,
		CreatedAt:    now,
		OccurredAt:   req.OccurredAt,
		Amount:       out.Earning.Amount,
		BasePoints:   out.Delta - out.Earning.Bonus,
		BonusPoints:  out.Earning.Bonus,
		CampaignID:   out.Earning.CampaignID,
		Cashback:     out.Cashback,
	}
	if req.Type == balances.Stamp {
		e.Stamps = req.Count
	}
	txData, err := json.Marshal(loyalty.NewTransactionJSON(e))
	if err != nil {
		return postPlan{}, fmt.Errorf("encode transaction event: %w", err)
	}
	var event, tierID, tierData string
	if out.TierChanged {
		b, err := json.Marshal(tierEvent{out.OldTier, out.Account.Tier})
		if err != nil {
			return postPlan{}, fmt.Errorf("encode tier event: %w", err)
		}
		event = string(b)
		if b, err = json.Marshal(tierWebhookEvent{memberID, out.OldTier, out.Account.Tier}); err != nil {
			return postPlan{}, fmt.Errorf("encode tier event: %w", err)
		}
		tierData = string(b)
		if tierID, err = NewEventID(); err != nil {
			return postPlan{}, err
		}
	}
	args := []any{e.ID, memberID, string(e.Type), e.Points, e.BalanceAfter, e.Reference, now,
		out.Account.Lifetime, out.Account.Qualifying, out.Account.Tier, out.Account.PassVersion,
		max(now.Unix(), l.modified+1), idemKey, requestHash, event, now.Add(s.debounce),
		sql.NullInt64{Int64: e.Amount, Valid: e.Amount != 0}, e.BasePoints, e.BonusPoints, e.CampaignID, e.OccurredAt,
		e.Stamps, e.Cashback, out.Account.Stamps, out.Account.Cashback, tierReview(l.account, out.Account, req, rules),
		eventID(e.ID), string(txData), tierID, tierData}
	plan := postPlan{args: args, res: PostResult{Entry: e, Account: out.Account, TierChanged: out.TierChanged}, vouchers: out.Vouchers}
	switch {
	case rules.Expiry == nil:
	case balances.CreatesLot(req.Type, out.Delta):
		lot := rules.Expiry.NewLot(e.ID, out.Delta, e.OccurredAt)
		plan.lot = &lot
		plan.args = append(plan.args, lot.ExpiresAt, nullTime(&lot.RemindAt))
	case balances.ConsumesLots(req.Type, out.Delta):
		plan.consumed, _ = balances.Consume(l.lots, -out.Delta)
	}
	return plan, nil
}

// tierReview is when an entry that took account a to n leaves the rolling
// tier window of rules, for the account's tier review (nil when the
// window is a lifetime or the entry added no qualifying points).
func tierReview(a, n Account, req balances.Request, rules balances.Rules) any {
	if rules.TierWindow <= 0 || n.Qualifying <= a.Qualifying {
		return nil
	}
	return req.OccurredAt.Add(rules.TierWindow)
}

// occurredAt is the sale's time of req: as given, or now. Stored times are
// UTC microseconds.
func occurredAt(req balances.Request, now time.Time) time.Time {
	if req.OccurredAt.IsZero() {
		return now
	}
	return req.OccurredAt.UTC().Truncate(time.Microsecond)
}

// writeError names a failed postWrite; a unique violation on the
// idempotency key is errIdempotencyRace.
func writeError(err error) error {
	if name, ok := uniqueViolation(err); ok && strings.Contains(name, "idempotency_keys") {
		return errIdempotencyRace
	}
	return fmt.Errorf("write entry: %w", err)
}

// post runs Post's transaction once: on PostgreSQL in its two-round-trip
// pipeline, except for stamps, which may issue vouchers and so run as an
// ordinary transaction (postTx); on SQLite in a group commit (group.go),
// unless it is turned off.
func (s *Store) post(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	if s.dialect == DialectSQLite && !s.group.off.Load() {
		return s.postGrouped(ctx, memberID, idemKey, requestHash, req, rules)
	}
	if s.dialect == DialectPostgres && req.Type != balances.Stamp {
		res, err := s.postPostgres(ctx, memberID, idemKey, requestHash, req, rules)
		if !errors.Is(err, errReferralPath) {
			return res, err
		}
		// A referred member's first earn: the pipelined path rolled back
		// and the transaction runs again as an ordinary one, where it may
		// credit the referral.
	}
	return s.postTx(ctx, memberID, idemKey, requestHash, req, rules)
}

// entryCols are an entry's columns; entries written before migration 0013
// read their points as base points and their creation as the sale's time.
const entryCols = `id, member_id, type, points, balance_after, reference, created_at,
	COALESCE(occurred_at, created_at), COALESCE(amount, 0), COALESCE(base_points, points), bonus_points, campaign_id,
	stamps, cashback, reason`

func scanEntry(row interface{ Scan(...any) error }, extra ...any) (Entry, error) {
	var e Entry
	var typ string
	dest := append([]any{&e.ID, &e.MemberID, &typ, &e.Points, &e.BalanceAfter, &e.Reference, ts{&e.CreatedAt},
		ts{&e.OccurredAt}, &e.Amount, &e.BasePoints, &e.BonusPoints, &e.CampaignID, &e.Stamps, &e.Cashback, &e.Reason}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Entry{}, err
	}
	e.Type = balances.EntryType(typ)
	return e, nil
}

const entryByIDSQL = `SELECT ` + entryCols + ` FROM entries WHERE id = $1`

func entryByID(ctx context.Context, q queryer, id string) (Entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, entryByIDSQL, id))
	if err != nil {
		return Entry{}, fmt.Errorf("entry %s: %w", id, err)
	}
	return e, nil
}

// Entries answers a page of a member's ledger, newest first, and the cursor
// of the next page ("" after the last). cursor is "" for the first page or
// a cursor Entries answered; anything else is an error wrapping
// ErrBadCursor. limit is clamped to 1..MaxPageSize, DefaultPageSize when 0
// or less. Entries of erased members are answered (the anonymous ledger);
// an unknown member is loyalty.ErrMemberNotFound.
func (s *Store) Entries(ctx context.Context, memberID, cursor string, limit int) ([]Entry, string, error) {
	return s.EntriesOfType(ctx, memberID, "", cursor, limit)
}

// EntriesOfType is Entries of one type only (all when typ is empty).
func (s *Store) EntriesOfType(ctx context.Context, memberID string, typ balances.EntryType, cursor string, limit int) ([]Entry, string, error) {
	before, err := seqBefore(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("entries: %w", err)
	}
	limit = pageSize(limit)
	rows, err := s.rd.QueryContext(ctx, `
		SELECT `+entryCols+`, seq FROM entries
		WHERE member_id = $1 AND seq < $2 AND ($4 = '' OR type = $4)
		ORDER BY seq DESC LIMIT $3`, memberID, before, limit+1, string(typ))
	if err != nil {
		return nil, "", fmt.Errorf("entries of %s: %w", memberID, translate(err))
	}
	defer rows.Close()
	out := make([]Entry, 0, limit)
	var next string
	for rows.Next() {
		var seq int64
		e, err := scanEntry(rows, &seq)
		if err != nil {
			return nil, "", fmt.Errorf("entries of %s: %w", memberID, err)
		}
		if len(out) == limit {
			next = encodeSeqCursor(before)
			break
		}
		out = append(out, e)
		before = seq
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("entries of %s: %w", memberID, translate(err))
	}
	if len(out) == 0 && cursor == "" {
		if err := s.memberExists(ctx, s.rd, memberID); err != nil {
			return nil, "", fmt.Errorf("entries: %w", err)
		}
	}
	return out, next, nil
}

// memberExists is loyalty.ErrMemberNotFound for an unknown member.
func (s *Store) memberExists(ctx context.Context, q queryer, memberID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM members WHERE id = $1`, memberID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("member %s: %w", memberID, loyalty.ErrMemberNotFound)
	}
	if err != nil {
		return fmt.Errorf("member %s: %w", memberID, translate(err))
	}
	return nil
}

func allEntries(ctx context.Context, q queryer, memberID string) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryCols+` FROM entries WHERE member_id = $1 ORDER BY seq`, memberID)
	if err != nil {
		return nil, fmt.Errorf("entries: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("entries: %w", err)
	}
	return out, nil
}

func events(ctx context.Context, q queryer, memberID string) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT seq, member_id, kind, data, created_at FROM events WHERE member_id = $1 ORDER BY seq`, memberID)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Seq, &e.MemberID, &e.Kind, &e.Data, ts{&e.CreatedAt}); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// Events answers a member's events, oldest first. An unknown member is
// loyalty.ErrMemberNotFound.
func (s *Store) Events(ctx context.Context, memberID string) ([]Event, error) {
	var out []Event
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := s.memberExists(ctx, tx, memberID); err != nil {
			return err
		}
		var err error
		out, err = events(ctx, tx, memberID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", memberID, err)
	}
	return out, nil
}

// Export answers everything kept about a member, read from one snapshot:
// the member and account, every ledger entry oldest first, the events, the
// card registrations, the consent records and the sync states. Erased
// members are exported too (what is left of them). An unknown member is
// loyalty.ErrMemberNotFound.
func (s *Store) Export(ctx context.Context, memberID string) (Export, error) {
	var x Export
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if x.Member, err = s.memberWhere(ctx, tx, "m.id = $1", memberID); err != nil {
			return err
		}
		if x.Entries, err = allEntries(ctx, tx, memberID); err != nil {
			return err
		}
		if x.Events, err = events(ctx, tx, memberID); err != nil {
			return err
		}
		if x.Registrations, err = registrationsFor(ctx, tx, memberID); err != nil {
			return err
		}
		if x.Consents, err = consents(ctx, tx, memberID); err != nil {
			return err
		}
		x.Sync, err = syncStates(ctx, tx, memberID)
		return err
	})
	if err != nil {
		return Export{}, fmt.Errorf("export %s: %w", memberID, err)
	}
	return x, nil
}

// PruneIdempotencyKeys deletes the idempotency keys created before a time
// (the API keeps them at least 24 hours) and answers how many. Their entries
// stay.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, before.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return n, nil
}
