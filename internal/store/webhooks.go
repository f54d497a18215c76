package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/internal/loyalty"
)

// Webhooks: endpoints, the outbox and its deliveries. An event is written
// by emit in the transaction of its cause, and only when a live endpoint
// wants it: one row in webhook_events and one in webhook_deliveries per
// such endpoint. Delivery workers (internal/webhooks) claim due
// deliveries, send them and record each attempt.

// Delivery states.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// MaxWebhookAttemptsListed bounds WebhookAttempts.
const MaxWebhookAttemptsListed = 100

// wantsSQL is the condition that a live endpoint w wants an event of type
// typ (an SQL text expression) about member (an SQL expression): it
// subscribes to the type and is global or of the member's programme.
func wantsSQL(typ, member string) string {
	return `w.disabled_at IS NULL AND w.events LIKE '% ' || ` + typ + ` || ' %'
		AND w.program IN ('', (SELECT program FROM members WHERE id = ` + member + `))`
}

// emitEventSQL writes an event ($1 id, $2 member, $3 type, $4 data, $5
// time) when some endpoint wants it; emitDeliveriesSQL then writes its
// deliveries ($1 the event's id).
var (
	emitEventSQL = `
		INSERT INTO webhook_events (id, member_id, type, data, created_at)
		SELECT $1, $2, $3, $4, $5
		WHERE EXISTS (SELECT 1 FROM webhook_endpoints w WHERE ` + wantsSQL("CAST($3 AS TEXT)", "$2") + `)`
	emitDeliveriesSQL = `
		INSERT INTO webhook_deliveries (endpoint_id, event_seq, member_id, state, attempts, next_at, lease, created_at)
		SELECT w.id, e.seq, e.member_id, 'pending', 0, e.created_at, '', e.created_at
		FROM webhook_events e JOIN webhook_endpoints w ON ` + wantsSQL("e.type", "e.member_id") + `
		WHERE e.id = $1`
)

// NewEventID draws a webhook event id (the webhook-id header).
func NewEventID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("event id: %w", err)
	}
	return eventID(id.String()), nil
}

// eventID is the webhook event id made of a unique id (an entry's, for
// transaction.posted).
func eventID(unique string) string { return "evt_" + strings.ReplaceAll(unique, "-", "") }

// emit writes a webhook event of type typ about a member, with data (a
// value encoding/json can marshal, carrying member_id), in tx: the one
// way every mechanic adds its event, in the transaction of its cause, e.g.
//
//	if err := emit(ctx, tx, memberID, loyalty.EventPointsExpired, data, now); err != nil {
//		return err
//	}
//
// Nothing is written when no live endpoint wants the event. (Post writes
// its transaction.posted and tier.changed events with its own statement,
// postWritePostgres, for speed; the SQL is the same.)
func emit(ctx context.Context, tx *sql.Tx, memberID string, typ loyalty.EventType, data any, now time.Time) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	id, err := NewEventID()
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, emitEventSQL, id, memberID, string(typ), string(b), now)
	if err != nil {
		return fmt.Errorf("write %s event: %w", typ, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, emitDeliveriesSQL, id); err != nil {
		return fmt.Errorf("write %s deliveries: %w", typ, err)
	}
	return nil
}

// memberEvent is the data of events that carry only who they are about.
type memberEvent struct {
	MemberID string `json:"member_id"`
	Program  string `json:"program,omitempty"`
}

// memberProfileEvent is the data of member.enrolled and member.updated.
type memberProfileEvent struct {
	MemberID       string `json:"member_id"`
	Program        string `json:"program"`
	Number         string `json:"number"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	Birthday       string `json:"birthday,omitempty"`
	ExternalID     string `json:"external_id,omitempty"`
	MarketingOptIn bool   `json:"marketing_opt_in"`
}

func profileEvent(m loyalty.Member) memberProfileEvent {
	return memberProfileEvent{MemberID: m.ID, Program: m.Program, Number: m.Number, Name: m.Name, Email: m.Email,
		Birthday: m.Birthday, ExternalID: m.ExternalID, MarketingOptIn: m.MarketingOptIn}
}

// tierWebhookEvent is the data of tier.changed.
type tierWebhookEvent struct {
	MemberID string `json:"member_id"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// voucherWebhookEvent is the data of voucher.issued and voucher.used.
type voucherWebhookEvent struct {
	MemberID  string     `json:"member_id"`
	Program   string     `json:"program"`
	Code      string     `json:"code"`
	RewardID  string     `json:"reward_id"`
	Status    string     `json:"status"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

func voucherWebhook(v loyalty.Voucher) voucherWebhookEvent {
	return voucherWebhookEvent{MemberID: v.MemberID, Program: v.Program, Code: v.Code, RewardID: v.RewardID,
		Status: v.Status, ExpiresAt: v.ExpiresAt.UTC(), UsedAt: v.UsedAt}
}

// cardEvent is the data of card.installed and card.removed.
type cardEvent struct {
	MemberID string `json:"member_id"`
	Wallet   string `json:"wallet"`
}

// emitCard writes card.installed (installed) or card.removed for a
// member's card in a wallet.
func emitCard(ctx context.Context, tx *sql.Tx, memberID, wallet string, installed bool, now time.Time) error {
	typ := loyalty.EventCardRemoved
	if installed {
		typ = loyalty.EventCardInstalled
	}
	return emit(ctx, tx, memberID, typ, cardEvent{MemberID: memberID, Wallet: wallet}, now)
}

// eventsText is an endpoint's events column: the types between spaces.
func eventsText(ts []loyalty.EventType) string {
	var b strings.Builder
	b.WriteString(" ")
	for _, t := range ts {
		b.WriteString(string(t))
		b.WriteString(" ")
	}
	return b.String()
}

const webhookCols = `id, program, url, events, secret, created_at, disabled_at, disabled_reason`

func scanWebhook(row interface{ Scan(...any) error }) (loyalty.WebhookEndpoint, error) {
	var e loyalty.WebhookEndpoint
	var events string
	if err := row.Scan(&e.ID, &e.Program, &e.URL, &events, &e.Secret, ts{&e.CreatedAt}, nts{&e.DisabledAt}, &e.DisabledReason); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, ErrNotFound
		}
		return e, err
	}
	for _, f := range strings.Fields(events) {
		e.Events = append(e.Events, loyalty.EventType(f))
	}
	return e, nil
}

// CreateWebhook stores a webhook endpoint as the domain validated it, with
// its id and secret set by the caller, created now; it answers the
// endpoint as stored.
func (s *Store) CreateWebhook(ctx context.Context, e loyalty.WebhookEndpoint) (loyalty.WebhookEndpoint, error) {
	e.CreatedAt = s.clock()
	e.DisabledAt, e.DisabledReason = nil, ""
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+webhookCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL, '')`,
			e.ID, e.Program, e.URL, eventsText(e.Events), e.Secret, e.CreatedAt)
		return err
	})
	if err != nil {
		return loyalty.WebhookEndpoint{}, fmt.Errorf("create webhook: %w", err)
	}
	return e, nil
}

// Webhook answers an endpoint; an unknown id is ErrNotFound.
func (s *Store) Webhook(ctx context.Context, id string) (loyalty.WebhookEndpoint, error) {
	e, err := scanWebhook(s.rd.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhook_endpoints WHERE id = $1`, id))
	if err != nil {
		return loyalty.WebhookEndpoint{}, fmt.Errorf("webhook %s: %w", id, err)
	}
	return e, nil
}

// Webhooks answers every endpoint, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]loyalty.WebhookEndpoint, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return out, nil
}

// WebhooksPage answers a page of the endpoints of a programme, with
// those of every programme too when unscoped, oldest first, and the
// cursor of the next page; limit and cursor as RewardsPage's.
func (s *Store) WebhooksPage(ctx context.Context, program string, unscoped bool, cursor string, limit int) ([]loyalty.WebhookEndpoint, string, error) {
	return keysetPage(ctx, s.rd, "webhooks", `SELECT `+webhookCols+` FROM webhook_endpoints WHERE (program = $1 OR ($2 AND program = ''))`,
		[]any{program, unscoped}, "created_at", "id", false, cursor, limit, scanWebhook,
		func(e loyalty.WebhookEndpoint) (time.Time, string) { return e.CreatedAt, e.ID })
}

// DeleteWebhook deletes an endpoint with its pending deliveries and its
// attempts log; an unknown id is ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id))
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// WebhookDelivery is a claimed delivery: one event for one endpoint.
type WebhookDelivery struct {
	EndpointID string
	URL        string
	Secret     string
	// EventSeq orders the events; EventID is the webhook-id.
	EventSeq  int64
	EventID   string
	Type      loyalty.EventType
	Data      json.RawMessage
	CreatedAt time.Time
	// Attempts made before this one.
	Attempts int
	// Lease is the claim's token: only its holder changes the row.
	Lease string
}

// ClaimWebhooks claims up to limit due deliveries (pending, next attempt
// due, to a live endpoint) and leases them until now+lease, as ClaimDue
// does sync jobs: another worker claims them again only after the lease,
// so a worker that died leaves them to others. A delivery is claimed only
// when no earlier event of the same member to the same endpoint is
// pending, so a member's events reach each endpoint in order. On
// PostgreSQL rows locked by another claimer are skipped, so instances
// never claim the same delivery. A claim records this instance as its
// owner (leases.go): a dead instance's deliveries are due again within
// seconds, with the same event and webhook-id.
func (s *Store) ClaimWebhooks(ctx context.Context, limit int, lease time.Duration) ([]WebhookDelivery, error) {
	if limit <= 0 {
		return []WebhookDelivery{}, nil
	}
	now := s.clock()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	token := hex.EncodeToString(b)
	var out []WebhookDelivery
	due, err := s.anyDue(ctx, `SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_at <= $1 LIMIT 1`, now)
	if err != nil || !due {
		return out, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`
			UPDATE webhook_deliveries SET next_at = $1, lease = $2, lease_owner = $5
			WHERE (endpoint_id, event_seq) IN (
				SELECT d.endpoint_id, d.event_seq FROM webhook_deliveries d
				WHERE d.state = 'pending' AND d.next_at <= $3
				  AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.disabled_at IS NULL)
				  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
					WHERE p.endpoint_id = d.endpoint_id AND p.member_id = d.member_id
					  AND p.state = 'pending' AND p.event_seq < d.event_seq)
				ORDER BY d.next_at, d.event_seq
				LIMIT $4 {{skip_locked}})`), now.Add(lease), token, now, limit, s.instance)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT d.endpoint_id, w.url, w.secret, e.seq, e.id, e.type, e.data, e.created_at, d.attempts
			FROM webhook_deliveries d
			JOIN webhook_events e ON e.seq = d.event_seq
			JOIN webhook_endpoints w ON w.id = d.endpoint_id
			WHERE d.state = 'pending' AND d.lease = $1
			ORDER BY e.seq`, token)
		if err != nil {
			return fmt.Errorf("read claimed: %w", err)
		}
		out, err = collect(rows, func(row interface{ Scan(...any) error }) (WebhookDelivery, error) {
			d := WebhookDelivery{Lease: token}
			var typ, data string
			err := row.Scan(&d.EndpointID, &d.URL, &d.Secret, &d.EventSeq, &d.EventID, &typ, &data, ts{&d.CreatedAt}, &d.Attempts)
			d.Type, d.Data = loyalty.EventType(typ), json.RawMessage(data)
			return d, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", translate(err))
	}
	return out, nil
}

// anyDue reports whether query (a SELECT 1 ... LIMIT 1) finds a row, on
// a reader; always true on PostgreSQL. The claims of queued work
// (ClaimDue, ClaimWebhooks) ask it first on SQLite: a claim takes the one
// writer connection, which the ledger's group commits wait for, and the
// workers look after every change, when most often nothing is due yet
// (a card waits out its debounce; no endpoint wants the event). A row
// committed before the look is seen (WAL readers see every committed
// transaction). PostgreSQL claims straight away, as its claims wait for
// no one.
func (s *Store) anyDue(ctx context.Context, query string, args ...any) (bool, error) {
	if s.dialect != DialectSQLite {
		return true, nil
	}
	var one int
	err := s.rd.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for due work: %w", translate(err))
	}
	return true, nil
}

// WebhookAttempt is one attempt to deliver an event, as logged.
type WebhookAttempt struct {
	EndpointID  string
	EventID     string
	Type        loyalty.EventType
	AttemptedAt time.Time
	// Status is the receiver's HTTP status, 0 when none came.
	Status   int
	Duration time.Duration
	Error    string
}

// WebhookOutcome is what becomes of a delivery after an attempt, as the
// delivery policy (internal/webhooks) decides.
type WebhookOutcome struct {
	// State is WebhookPending (try again at RetryAt), WebhookDelivered
	// or WebhookFailed.
	State   string
	RetryAt time.Time
	// DisableEndpoint stops the endpoint (a 410), with this reason.
	DisableEndpoint string
}

// RecordWebhookAttempt logs an attempt at a claimed delivery and applies
// its outcome, in one transaction. The delivery changes only while d's
// lease is the row's (a worker whose lease ran out leaves the row to the
// one that claimed it since); the attempt is logged either way.
func (s *Store) RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt, o WebhookOutcome) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_attempts (endpoint_id, event_id, event_type, attempted_at, status, duration_ms, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.EndpointID, d.EventID, string(d.Type), a.AttemptedAt.UTC().Truncate(time.Microsecond), a.Status,
			a.Duration.Milliseconds(), a.Error); err != nil {
			return fmt.Errorf("log attempt: %w", err)
		}
		next := o.RetryAt
		if o.State != WebhookPending {
			next = now
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE webhook_deliveries SET state = $4, attempts = attempts + 1, next_at = $5, lease = '', lease_owner = NULL
			WHERE endpoint_id = $1 AND event_seq = $2 AND lease = $3`,
			d.EndpointID, d.EventSeq, d.Lease, o.State, next.UTC().Truncate(time.Microsecond)); err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
		if o.DisableEndpoint == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3
			WHERE id = $1 AND disabled_at IS NULL`, d.EndpointID, now, o.DisableEndpoint)
		return err
	})
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", translate(err))
	}
	return nil
}

// ReleaseWebhook gives a claimed delivery back without an attempt, due
// again at at (a worker at its bound of connections to the endpoint).
func (s *Store) ReleaseWebhook(ctx context.Context, d WebhookDelivery, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE webhook_deliveries SET next_at = $4, lease = '', lease_owner = NULL
			WHERE endpoint_id = $1 AND event_seq = $2 AND lease = $3`,
			d.EndpointID, d.EventSeq, d.Lease, at.UTC().Truncate(time.Microsecond))
		return err
	})
	if err != nil {
		return fmt.Errorf("release webhook: %w", translate(err))
	}
	return nil
}

// WebhookAttempts answers an endpoint's last attempts, newest first, at
// most limit (clamped to 1..MaxWebhookAttemptsListed).
func (s *Store) WebhookAttempts(ctx context.Context, endpointID string, limit int) ([]WebhookAttempt, error) {
	if limit <= 0 || limit > MaxWebhookAttemptsListed {
		limit = MaxWebhookAttemptsListed
	}
	out, _, err := s.WebhookAttemptsPage(ctx, endpointID, "", limit)
	return out, err
}

// WebhookAttemptsPage answers a page of an endpoint's attempts log,
// newest first, and the cursor of the next page ("" after the last).
// limit is clamped to 1..MaxPageSize (DefaultPageSize when 0 or less); a
// cursor WebhookAttemptsPage did not answer is ErrBadCursor.
func (s *Store) WebhookAttemptsPage(ctx context.Context, endpointID, cursor string, limit int) ([]WebhookAttempt, string, error) {
	before, err := seqBefore(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("webhook attempts: %w", err)
	}
	limit = pageSize(limit)
	rows, err := s.rd.QueryContext(ctx, `
		SELECT endpoint_id, event_id, event_type, attempted_at, status, duration_ms, error, seq
		FROM webhook_attempts WHERE endpoint_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, endpointID, before, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("webhook attempts: %w", translate(err))
	}
	var seqs []int64
	out, err := collect(rows, func(row interface{ Scan(...any) error }) (WebhookAttempt, error) {
		var a WebhookAttempt
		var typ string
		var ms, seq int64
		err := row.Scan(&a.EndpointID, &a.EventID, &typ, ts{&a.AttemptedAt}, &a.Status, &ms, &a.Error, &seq)
		a.Type, a.Duration = loyalty.EventType(typ), time.Duration(ms)*time.Millisecond
		seqs = append(seqs, seq)
		return a, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("webhook attempts: %w", translate(err))
	}
	if len(out) <= limit {
		return out, "", nil
	}
	return out[:limit], encodeSeqCursor(seqs[limit-1]), nil
}

// WebhookBacklog answers the age of the oldest pending delivery to a live
// endpoint at now (zero when none), for the outbox lag metric.
func (s *Store) WebhookBacklog(ctx context.Context) (time.Duration, error) {
	var oldest time.Time
	err := s.rd.QueryRowContext(ctx, `
		SELECT MIN(d.created_at) FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.disabled_at IS NULL
		WHERE d.state = 'pending'`).Scan(ts{&oldest})
	if err != nil {
		return 0, fmt.Errorf("webhook backlog: %w", err)
	}
	if oldest.IsZero() {
		return 0, nil
	}
	return max(s.clock().Sub(oldest), 0), nil
}

// ProgramWebhookBacklog answers how many deliveries wait for the live
// endpoints of one programme and the age of the oldest at now (zero when
// none): the dashboard's webhook health. Endpoints of every programme
// are not counted.
func (s *Store) ProgramWebhookBacklog(ctx context.Context, program string) (int64, time.Duration, error) {
	var n int64
	var oldest time.Time
	err := s.rd.QueryRowContext(ctx, `
		SELECT COUNT(*), MIN(d.created_at) FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.disabled_at IS NULL AND w.program = $1
		WHERE d.state = 'pending'`, program).Scan(&n, ts{&oldest})
	if err != nil {
		return 0, 0, fmt.Errorf("programme webhook backlog: %w", err)
	}
	if oldest.IsZero() {
		return n, 0, nil
	}
	return n, max(s.clock().Sub(oldest), 0), nil
}

// eraseWebhookData writes member.erased (the member's id and programme,
// nothing personal) and clears the personal data out of the member's
// earlier events still kept in the outbox (member.enrolled and
// member.updated), so a delivery still pending no longer sends it.
func (s *Store) eraseWebhookData(ctx context.Context, tx *sql.Tx, memberID string, now time.Time) error {
	ev := memberEvent{MemberID: memberID}
	if err := tx.QueryRowContext(ctx, `SELECT program FROM members WHERE id = $1`, memberID).Scan(&ev.Program); err != nil {
		return fmt.Errorf("member program: %w", err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode erased event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET data = $2 WHERE member_id = $1 AND type IN ($3, $4)`,
		memberID, string(b), string(loyalty.EventMemberEnrolled), string(loyalty.EventMemberUpdated)); err != nil {
		return fmt.Errorf("clear outbox personal data: %w", err)
	}
	return emit(ctx, tx, memberID, loyalty.EventMemberErased, ev, now)
}

// PruneWebhooks deletes what webhooks keep past its use, from before a
// time: attempts logged before it, and deliveries made before it that are
// finished (delivered or failed) or wait for a disabled endpoint, then the
// events left without deliveries. It answers how many events went.
// Pending deliveries to live endpoints stay, however old.
func (s *Store) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC().Truncate(time.Microsecond)
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE attempted_at < $1`, before); err != nil {
			return fmt.Errorf("attempts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM webhook_deliveries WHERE created_at < $1 AND (state <> 'pending'
				OR endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NOT NULL))`, before); err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}
		res, err := tx.ExecContext(ctx, `
			DELETE FROM webhook_events WHERE created_at < $1
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq)`, before)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune webhooks: %w", translate(err))
	}
	return n, nil
}

// SendTestWebhook queues a webhook.test event (data: endpoint_id) for one
// endpoint only, whatever it subscribes to, and answers the event's id;
// it is delivered, retried and logged like any event. An unknown endpoint
// is ErrNotFound, a disabled one loyalty.ErrWebhookDisabled.
func (s *Store) SendTestWebhook(ctx context.Context, endpointID string) (string, error) {
	now := s.clock()
	id, err := NewEventID()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(struct {
		EndpointID string `json:"endpoint_id"`
	}{endpointID})
	if err != nil {
		return "", fmt.Errorf("encode test event: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled_at IS NOT NULL FROM webhook_endpoints WHERE id = $1`, endpointID).Scan(&disabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case disabled:
			return loyalty.ErrWebhookDisabled
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO webhook_events (id, member_id, type, data, created_at) VALUES ($1, '', $2, $3, $4)
			RETURNING seq`, id, string(loyalty.EventWebhookTest), string(b), now).Scan(&seq); err != nil {
			return fmt.Errorf("write test event: %w", err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO webhook_deliveries (endpoint_id, event_seq, member_id, state, attempts, next_at, lease, created_at)
			VALUES ($1, $2, '', 'pending', 0, $3, '', $3)`, endpointID, seq, now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("test webhook %s: %w", endpointID, err)
	}
	return id, nil
}

// lockMember takes the member's lock (its account row, as Post does) in
// tx, so that events written under it follow the member's changes in
// commit order. On SQLite the write transaction already holds it.
func (s *Store) lockMember(ctx context.Context, tx *sql.Tx, memberID string) error {
	var one int
	err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM accounts WHERE member_id = $1 {{for_update}}`), memberID).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock member: %w", err)
	}
	return nil
}
