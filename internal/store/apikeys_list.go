package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// apiKeySelect reads an APIKey; scanAPIKey reads its columns.
const apiKeySelect = `SELECT id, hash, role, program, created_at, revoked_at, last_used_at FROM api_keys`

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.Hash, &k.Role, &k.Program, ts{&k.CreatedAt}, nts{&k.RevokedAt}, nts{&k.LastUsedAt})
	return k, err
}

// APIKeys answers every API key, revoked ones included, oldest first. The
// hashes come with them; callers show only the other fields.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.rd.QueryContext(ctx, apiKeySelect+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", translate(err))
	}
	out, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", translate(err))
	}
	return out, nil
}

// APIKeysPage answers a page of every API key, revoked ones included,
// oldest first, and the cursor of the next page; limit and cursor as
// RewardsPage's.
func (s *Store) APIKeysPage(ctx context.Context, cursor string, limit int) ([]APIKey, string, error) {
	return keysetPage(ctx, s.rd, "api keys", apiKeySelect+` WHERE TRUE`, nil,
		"created_at", "id", false, cursor, limit, scanAPIKey, func(k APIKey) (time.Time, string) { return k.CreatedAt, k.ID })
}

// apiKeyUseResolution is how fine LastUsedAt is kept: TouchAPIKey writes
// a key's row at most once per this long, however many requests it
// authenticates.
const apiKeyUseResolution = time.Minute

// TouchAPIKey records that key id authenticated a request at at. It writes
// only when the stored last use is unset or older than at minus a minute,
// in one conditional UPDATE, so calling it on every request costs at most
// one write a minute per key. An unknown id, like a recent use, changes
// nothing and is not an error: the caller has just found the key.
//
// On SQLite a plain read decides first whether a write is due, so that a
// request that writes nothing does not queue for the database's one writer
// behind the tills' ledger writes; the UPDATE keeps its condition, so two
// requests that both find it due still write once.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	before := at.Add(-apiKeyUseResolution)
	const touch = `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`
	var err error
	if s.dialect == DialectPostgres {
		// One statement: a row it does not change takes no lock and
		// commits nothing.
		_, err = s.w.ExecContext(ctx, touch, id, at, before)
	} else {
		var n int
		err = s.rd.QueryRowContext(ctx, `
			SELECT count(*) FROM api_keys WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, before).Scan(&n)
		if err == nil && n > 0 {
			err = s.write(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, touch, id, at, before)
				return err
			})
		}
	}
	if err != nil {
		return fmt.Errorf("touch api key %s: %w", id, translate(err))
	}
	return nil
}
