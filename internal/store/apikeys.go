package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateAPIKey stores an API key. A zero k.CreatedAt is set to now. A taken
// ID or hash is ErrDuplicate.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.clock()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO api_keys (id, hash, role, program, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.Hash, k.Role, k.Program, k.CreatedAt.UTC().Truncate(time.Microsecond), nullTime(k.RevokedAt))
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create api key %s: %w", k.ID, err)
	}
	return nil
}

// APIKeyByHash answers the key with the given hash, revoked keys included
// (RevokedAt set); an unknown hash is ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanAPIKey(s.rd.QueryRowContext(ctx, apiKeySelect+` WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fmt.Errorf("api key: %w", ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("api key: %w", translate(err))
	}
	return k, nil
}

// RevokeAPIKey revokes a key; revoking it again keeps the first revocation
// time. An unknown ID is ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, now))
	})
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	return nil
}
