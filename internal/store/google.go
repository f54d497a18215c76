package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// GoogleCard is what the google channel has delivered of a member's Google
// Wallet card besides the loyalty object's fields: whether the object
// exists, which program message and tier change were turned into object
// messages, and when the card's phone was last notified. It lets messages be
// added once and notifications stay within Google's budget.
type GoogleCard struct {
	MemberID string
	// Inserted reports that the loyalty object exists at Google.
	Inserted bool
	// MessageAt is the posting time of the last merchant message handled
	// (the program's or the member's own); zero when none was.
	MessageAt time.Time
	// TierEventSeq is the Event.Seq of the last "tier_changed" event
	// handled; zero when none was.
	TierEventSeq int64
	// Notified holds when push notifications were sent to the card, oldest
	// first; GoogleCard answers those at or after its since argument.
	Notified []time.Time
}

// GoogleCard answers the Google state of a member's card, with the
// notifications sent at or after since. A card never delivered to Google
// answers a GoogleCard with only MemberID set.
func (s *Store) GoogleCard(ctx context.Context, memberID string, since time.Time) (GoogleCard, error) {
	c := GoogleCard{MemberID: memberID, Notified: []time.Time{}}
	// One statement, so one snapshot and one round trip: the card's row
	// (NULLs when there is none) beside each counted notification, or one
	// row with a NULL sent_at when there are none. Every Google delivery
	// starts with it.
	rows, err := s.rd.QueryContext(ctx, `
		SELECT g.inserted, g.message_at, g.tier_event_seq, n.sent_at
		FROM (SELECT CAST($1 AS TEXT) AS id) AS m
		LEFT JOIN google_cards g ON g.member_id = m.id
		LEFT JOIN google_notifications n ON n.member_id = m.id AND n.sent_at >= $2
		ORDER BY n.sent_at`, memberID, since.UTC().Truncate(time.Microsecond))
	if err != nil {
		return GoogleCard{}, fmt.Errorf("google card of %s: %w", memberID, translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var inserted sql.NullBool
		var seq sql.NullInt64
		var sent *time.Time
		if err := rows.Scan(&inserted, ts{&c.MessageAt}, &seq, nts{&sent}); err != nil {
			return GoogleCard{}, fmt.Errorf("google card of %s: %w", memberID, err)
		}
		c.Inserted, c.TierEventSeq = inserted.Bool, seq.Int64
		if sent != nil {
			c.Notified = append(c.Notified, *sent)
		}
	}
	if err := rows.Err(); err != nil {
		return GoogleCard{}, fmt.Errorf("google card of %s: %w", memberID, translate(err))
	}
	return c, nil
}

// SaveGoogleCard stores the Google state of a member's card in one
// transaction: c's Inserted, MessageAt and TierEventSeq, and c.Notified,
// which replaces the notifications stored before (so the caller drops the
// ones that no longer count). An unknown member is ErrNotFound.
func (s *Store) SaveGoogleCard(ctx context.Context, c GoogleCard) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE id = $1`, c.MemberID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO google_cards (member_id, inserted, message_at, tier_event_seq, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (member_id) DO UPDATE SET
				inserted = excluded.inserted,
				message_at = excluded.message_at,
				tier_event_seq = excluded.tier_event_seq,
				updated_at = excluded.updated_at`,
			c.MemberID, c.Inserted, nullTime(&c.MessageAt), c.TierEventSeq, now); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM google_notifications WHERE member_id = $1`, c.MemberID); err != nil {
			return fmt.Errorf("clear notifications: %w", err)
		}
		for _, at := range c.Notified {
			if _, err := tx.ExecContext(ctx, `INSERT INTO google_notifications (member_id, sent_at) VALUES ($1, $2)`,
				c.MemberID, at.UTC().Truncate(time.Microsecond)); err != nil {
				return fmt.Errorf("add notification: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save google card of %s: %w", c.MemberID, err)
	}
	return nil
}

// EventsAfter answers a member's events of one kind whose Seq is above
// afterSeq, oldest first. An unknown member answers none.
func (s *Store) EventsAfter(ctx context.Context, memberID, kind string, afterSeq int64) ([]Event, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT seq, member_id, kind, data, created_at FROM events
		WHERE member_id = $1 AND kind = $2 AND seq > $3
		ORDER BY seq`, memberID, kind, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("%s events of %s: %w", kind, memberID, translate(err))
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Seq, &e.MemberID, &e.Kind, &e.Data, ts{&e.CreatedAt}); err != nil {
			return nil, fmt.Errorf("%s events of %s: %w", kind, memberID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s events of %s: %w", kind, memberID, err)
	}
	return out, nil
}
