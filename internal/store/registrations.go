package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/passd/passd/internal/member"
)

// Register records that a device registered for a member's pass (the
// PassKit web service). A registration that exists already gets the new push
// token and created is false. An unknown or erased member is
// member.ErrNotFound.
func (s *Store) Register(ctx context.Context, r Registration) (created bool, err error) {
	now := s.clock()
	err = s.write(ctx, func(tx *sql.Tx) error {
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
			return nil
		}
		err = oneRow(tx.ExecContext(ctx, `
			UPDATE registrations SET push_token = $4, updated_at = $5
			WHERE device_id = $1 AND pass_type_id = $2 AND member_id = $3
			  AND EXISTS (SELECT 1 FROM members WHERE id = $3 AND erased_at IS NULL)`,
			r.DeviceID, r.PassTypeID, r.MemberID, r.PushToken, now))
		if errors.Is(err, ErrNotFound) {
			return member.ErrNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("register device for %s: %w", r.MemberID, err)
	}
	return created, nil
}

// Unregister removes a device's registration for a member's pass; an
// unknown registration is ErrNotFound.
func (s *Store) Unregister(ctx context.Context, deviceID, passTypeID, memberID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `
			DELETE FROM registrations WHERE device_id = $1 AND pass_type_id = $2 AND member_id = $3`,
			deviceID, passTypeID, memberID))
	})
	if err != nil {
		return fmt.Errorf("unregister device for %s: %w", memberID, err)
	}
	return nil
}

// UpdatedSerials answers the members (pass serial numbers) a device is
// registered for whose card changed after update sequence sinceSeq, in
// change order, and the greatest sequence among them, the device's next
// tag. With nothing changed it answers no serials and sinceSeq.
//
// On PostgreSQL, sequence values are drawn before commit, so a change can
// become visible after a later-numbered one; the sync engine's push comes
// after the commit and the device then asks again, but a device polling in
// that window of milliseconds skips the earlier change until the card's next
// change.
func (s *Store) UpdatedSerials(ctx context.Context, deviceID, passTypeID string, sinceSeq int64) (serials []string, lastSeq int64, err error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT r.member_id, a.update_seq
		FROM registrations r JOIN accounts a ON a.member_id = r.member_id
		WHERE r.device_id = $1 AND r.pass_type_id = $2 AND a.update_seq > $3
		ORDER BY a.update_seq, r.member_id`, deviceID, passTypeID, sinceSeq)
	if err != nil {
		return nil, 0, fmt.Errorf("updated serials: %w", translate(err))
	}
	defer rows.Close()
	serials = []string{}
	lastSeq = sinceSeq
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, 0, fmt.Errorf("updated serials: %w", err)
		}
		serials = append(serials, id)
		lastSeq = max(lastSeq, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("updated serials: %w", translate(err))
	}
	return serials, lastSeq, nil
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
// token (APNs answered 410 Unregistered for it) and answers how many.
func (s *Store) DeleteRegistrationsByPushToken(ctx context.Context, pushToken string) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE push_token = $1`, pushToken)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
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
