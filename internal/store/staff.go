package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// Staff accounts of the merchant console (migration 0018): users, their
// server-side sessions and their one-time set-password links. The console
// decides when a session has expired; the store keeps the times.

// StaffUser and StaffSession are the domain's.
type (
	StaffUser    = loyalty.StaffUser
	StaffSession = loyalty.StaffSession
)

const staffUserSelect = `SELECT id, email, role, program, password_hash, created_at, disabled_at FROM staff_users`

func scanStaffUser(row interface{ Scan(...any) error }) (StaffUser, error) {
	var u StaffUser
	err := row.Scan(&u.ID, &u.Email, &u.Role, &u.Program, &u.PasswordHash, ts{&u.CreatedAt}, nts{&u.DisabledAt})
	return u, err
}

// CreateStaffUser stores a new staff user; a zero CreatedAt is set to now.
// A taken ID or email is ErrDuplicate.
func (s *Store) CreateStaffUser(ctx context.Context, u StaffUser) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.clock()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO staff_users (id, email, role, program, password_hash, created_at, disabled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, u.Email, u.Role, u.Program, u.PasswordHash, u.CreatedAt.UTC().Truncate(time.Microsecond), nullTime(u.DisabledAt))
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create staff user %s: %w", u.ID, err)
	}
	return nil
}

func (s *Store) staffUser(ctx context.Context, where string, arg any) (StaffUser, error) {
	u, err := scanStaffUser(s.rd.QueryRowContext(ctx, staffUserSelect+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return StaffUser{}, fmt.Errorf("staff user: %w", ErrNotFound)
	}
	if err != nil {
		return StaffUser{}, fmt.Errorf("staff user: %w", translate(err))
	}
	return u, nil
}

// StaffUser answers the user with the given id, disabled or not; an
// unknown id is ErrNotFound.
func (s *Store) StaffUser(ctx context.Context, id string) (StaffUser, error) {
	return s.staffUser(ctx, ` WHERE id = $1`, id)
}

// StaffUserByEmail answers the user with the given (lower-case) email; an
// unknown email is ErrNotFound.
func (s *Store) StaffUserByEmail(ctx context.Context, email string) (StaffUser, error) {
	return s.staffUser(ctx, ` WHERE email = $1`, email)
}

// StaffUsers answers every staff user, disabled ones included, by email.
func (s *Store) StaffUsers(ctx context.Context) ([]StaffUser, error) {
	rows, err := s.rd.QueryContext(ctx, staffUserSelect+` ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("staff users: %w", translate(err))
	}
	out, err := collect(rows, scanStaffUser)
	if err != nil {
		return nil, fmt.Errorf("staff users: %w", translate(err))
	}
	return out, nil
}

// StaffUsersPage answers a page of every staff user, disabled ones
// included, oldest first, and the cursor of the next page; limit and
// cursor as RewardsPage's.
func (s *Store) StaffUsersPage(ctx context.Context, cursor string, limit int) ([]StaffUser, string, error) {
	return keysetPage(ctx, s.rd, "staff users", staffUserSelect+` WHERE TRUE`, nil,
		"created_at", "id", false, cursor, limit, scanStaffUser, func(u StaffUser) (time.Time, string) { return u.CreatedAt, u.ID })
}

// DisableStaffUser disables a user, ends all their sessions and voids
// their unused set-password links, together; disabling again keeps the
// first time. An unknown id is ErrNotFound.
func (s *Store) DisableStaffUser(ctx context.Context, id string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := oneRow(tx.ExecContext(ctx, `UPDATE staff_users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1`, id, now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE staff_password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("disable staff user %s: %w", id, err)
	}
	return nil
}

// CreateStaffPasswordToken stores a one-time set-password link of a user,
// by the hash of its secret, valid until expires. An unknown or disabled
// user is ErrNotFound.
func (s *Store) CreateStaffPasswordToken(ctx context.Context, userID, tokenHash string, expires time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM staff_users WHERE id = $1 AND disabled_at IS NULL`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_password_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
			tokenHash, userID, expires.UTC().Truncate(time.Microsecond))
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create set-password link of %s: %w", userID, err)
	}
	return nil
}

// UseStaffPasswordToken spends a set-password link: it sets the user's
// password hash, voids every link of the user and ends every session of
// the user, together, and answers the user. A link unknown, used, expired
// or of a disabled user is ErrNotFound and changes nothing.
func (s *Store) UseStaffPasswordToken(ctx context.Context, tokenHash, passwordHash string) (StaffUser, error) {
	now := s.clock()
	var userID string
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			SELECT t.user_id FROM staff_password_tokens t JOIN staff_users u ON u.id = t.user_id
			WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL`,
			tokenHash, now).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff_users SET password_hash = $2 WHERE id = $1`, userID, passwordHash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff_password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return StaffUser{}, fmt.Errorf("use set-password link: %w", err)
	}
	return s.StaffUser(ctx, userID)
}

// StaffPasswordTokenValid reports whether a set-password link can still
// be used (known, unused, unexpired, of an enabled user).
func (s *Store) StaffPasswordTokenValid(ctx context.Context, tokenHash string) (bool, error) {
	var n int
	err := s.rd.QueryRowContext(ctx, `
		SELECT count(*) FROM staff_password_tokens t JOIN staff_users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL`,
		tokenHash, s.clock()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("set-password link: %w", translate(err))
	}
	return n > 0, nil
}

// CreateStaffSession stores a new session; zero times are set to now. An
// unknown or disabled user is ErrNotFound.
func (s *Store) CreateStaffSession(ctx context.Context, ss StaffSession) error {
	now := s.clock()
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = now
	}
	if ss.LastSeenAt.IsZero() {
		ss.LastSeenAt = ss.CreatedAt
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM staff_users WHERE id = $1 AND disabled_at IS NULL`, ss.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_sessions (id_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)`,
			ss.IDHash, ss.UserID, ss.CreatedAt.UTC().Truncate(time.Microsecond), ss.LastSeenAt.UTC().Truncate(time.Microsecond))
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create staff session: %w", err)
	}
	return nil
}

// StaffSession answers the session with the given id hash and its user; an
// unknown hash is ErrNotFound. Expiry is the caller's to judge.
func (s *Store) StaffSession(ctx context.Context, idHash string) (StaffSession, StaffUser, error) {
	var ss StaffSession
	var u StaffUser
	err := s.rd.QueryRowContext(ctx, `
		SELECT s.id_hash, s.user_id, s.created_at, s.last_seen_at,
		       u.id, u.email, u.role, u.program, u.password_hash, u.created_at, u.disabled_at
		FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.id_hash = $1`, idHash).
		Scan(&ss.IDHash, &ss.UserID, ts{&ss.CreatedAt}, ts{&ss.LastSeenAt},
			&u.ID, &u.Email, &u.Role, &u.Program, &u.PasswordHash, ts{&u.CreatedAt}, nts{&u.DisabledAt})
	if errors.Is(err, sql.ErrNoRows) {
		return StaffSession{}, StaffUser{}, fmt.Errorf("staff session: %w", ErrNotFound)
	}
	if err != nil {
		return StaffSession{}, StaffUser{}, fmt.Errorf("staff session: %w", translate(err))
	}
	return ss, u, nil
}

// TouchStaffSession records that a session was used at at (only ever
// forward). An unknown session is not an error.
func (s *Store) TouchStaffSession(ctx context.Context, idHash string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2`, idHash, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch staff session: %w", err)
	}
	return nil
}

// DeleteStaffSession ends one session; an unknown one is not an error.
func (s *Store) DeleteStaffSession(ctx context.Context, idHash string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id_hash = $1`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete staff session: %w", err)
	}
	return nil
}

// DeleteStaffSessions ends every session of a user and answers how many.
func (s *Store) DeleteStaffSessions(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete staff sessions of %s: %w", userID, err)
	}
	return n, nil
}

// PruneStaffSessions deletes the sessions last seen before idleBefore or
// created before createdBefore, and the set-password links expired before
// idleBefore, and answers how many sessions went.
func (s *Store) PruneStaffSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE last_seen_at < $1 OR created_at < $2`,
			idleBefore.UTC().Truncate(time.Microsecond), createdBefore.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM staff_password_tokens WHERE expires_at < $1`, idleBefore.UTC().Truncate(time.Microsecond))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune staff sessions: %w", err)
	}
	return n, nil
}

// CountMembers answers how many members a programme has, erased ones
// excluded.
func (s *Store) CountMembers(ctx context.Context, program string) (int64, error) {
	var n int64
	if err := s.rd.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE program = $1 AND erased_at IS NULL`, program).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members of %s: %w", program, translate(err))
	}
	return n, nil
}
