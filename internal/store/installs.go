package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// CardInstall is whether a member's card is in one wallet, as that wallet
// last told passd.
type CardInstall struct {
	MemberID string
	// Wallet is the wallet's channel name ("google", "apple").
	Wallet    string
	Installed bool
	UpdatedAt time.Time
}

// GoogleCallback is a verified Google save or delete callback to record.
type GoogleCallback struct {
	// Nonce identifies the event; Google may deliver it more than once.
	Nonce string
	// MemberID is the member whose object the event is about.
	MemberID string
	// Installed is true for a save, false for a delete.
	Installed bool
}

// CallbackOutcome says what RecordGoogleCallback did.
type CallbackOutcome int

// Outcomes of RecordGoogleCallback.
const (
	// CallbackRecorded means the card's Google install state was set.
	CallbackRecorded CallbackOutcome = iota + 1
	// CallbackReplayed means the nonce was seen before: nothing changed.
	CallbackReplayed
	// CallbackUnknownMember means no live member has that id: only the
	// nonce was kept.
	CallbackUnknownMember
)

// String names the outcome for logs.
func (o CallbackOutcome) String() string {
	switch o {
	case CallbackRecorded:
		return "recorded"
	case CallbackReplayed:
		return "replayed"
	case CallbackUnknownMember:
		return "unknown_member"
	}
	return fmt.Sprintf("CallbackOutcome(%d)", int(o))
}

// RecordGoogleCallback records a verified Google callback in one
// transaction: its nonce, and the member's Google card as installed or
// removed. A nonce recorded before is CallbackReplayed and changes
// nothing, so a retried delivery counts once; an unknown or erased member
// is CallbackUnknownMember. A card's state that changes is card.installed
// or card.removed (wallet google).
func (s *Store) RecordGoogleCallback(ctx context.Context, c GoogleCallback) (CallbackOutcome, error) {
	now := s.clock()
	var out CallbackOutcome
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO google_callback_nonces (nonce, seen_at) VALUES ($1, $2)
			ON CONFLICT (nonce) DO NOTHING`, c.Nonce, now)
		if err != nil {
			return fmt.Errorf("insert nonce: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			out = CallbackReplayed
			return nil
		}
		if err := s.lockMember(ctx, tx, c.MemberID); err != nil {
			return err
		}
		var was sql.NullBool
		if err := tx.QueryRowContext(ctx, `SELECT installed FROM card_installs WHERE member_id = $1 AND wallet = $2`,
			c.MemberID, loyalty.ChannelGoogle).Scan(&was); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read install: %w", err)
		}
		res, err = tx.ExecContext(ctx, `
			INSERT INTO card_installs (member_id, wallet, installed, updated_at)
			SELECT id, $2, $3, $4 FROM members WHERE id = $1 AND erased_at IS NULL
			ON CONFLICT (member_id, wallet) DO UPDATE SET
				installed = excluded.installed,
				updated_at = excluded.updated_at`,
			c.MemberID, loyalty.ChannelGoogle, c.Installed, now)
		if err != nil {
			return fmt.Errorf("upsert install: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			out = CallbackUnknownMember
			return nil
		}
		out = CallbackRecorded
		if was.Valid && was.Bool == c.Installed {
			return nil
		}
		return emitCard(ctx, tx, c.MemberID, loyalty.ChannelGoogle, c.Installed, now)
	})
	if err != nil {
		return 0, fmt.Errorf("record google callback: %w", err)
	}
	return out, nil
}

// CardInstalls answers the wallets a member's card was reported in or out
// of, by wallet name; a member no wallet reported on answers none.
func (s *Store) CardInstalls(ctx context.Context, memberID string) ([]CardInstall, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT member_id, wallet, installed, updated_at FROM card_installs
		WHERE member_id = $1 ORDER BY wallet`, memberID)
	if err != nil {
		return nil, fmt.Errorf("card installs of %s: %w", memberID, translate(err))
	}
	defer rows.Close()
	out := []CardInstall{}
	for rows.Next() {
		var c CardInstall
		if err := rows.Scan(&c.MemberID, &c.Wallet, &c.Installed, ts{&c.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("card installs of %s: %w", memberID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("card installs of %s: %w", memberID, err)
	}
	return out, nil
}

// PruneGoogleCallbackNonces deletes the callback nonces first seen before a
// time and answers how many. Keep them longer than a callback stays valid
// (its expTimeMillis): an older replay is refused as expired anyway.
func (s *Store) PruneGoogleCallbackNonces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM google_callback_nonces WHERE seen_at < $1`, before.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune google callback nonces: %w", err)
	}
	return n, nil
}
