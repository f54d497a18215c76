package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// migrationFS holds the numbered migrations: NNNN_name.sql runs on both
// dialects, NNNN_name.postgres.sql and NNNN_name.sqlite.sql on one. Released
// migrations are never edited; a change is a new number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the dialect's migrations in order.
func migrations(dialect string) ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	byVersion := map[int]migration{}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, "migrations/"), ".sql")
		name, only, _ := strings.Cut(base, ".")
		if only != "" && only != DialectPostgres && only != DialectSQLite {
			return nil, fmt.Errorf("migration %s: unknown dialect %q", f, only)
		}
		if only != "" && only != dialect {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", f)
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", prev.name, base, v)
		}
		text, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", f, err)
		}
		byVersion[v] = migration{version: v, name: base, sql: string(text)}
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction and recorded in schema_migrations. It holds a lock while it
// works (PostgreSQL: a transaction-level advisory lock keyed by the current
// schema; SQLite: the database write lock), so instances starting together
// apply each migration once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	for _, m := range ms {
		applied := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			if s.dialect == DialectPostgres {
				// A migration may wait behind another instance's: longer
				// than the row lock timeout the session carries.
				if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('passd.migrate.' || current_schema()))`); err != nil {
					return fmt.Errorf("take migration lock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY,
				name text NOT NULL,
				applied_at text NOT NULL
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if step := migrationSteps[m.version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("apply: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.clock().Format("2006-01-02T15:04:05.000000Z")); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("migration %s (%s): %w", m.name, s.dialect, err)
		}
		if applied {
			s.log.Info("migration applied", slog.String("migration", m.name), slog.String("dialect", s.dialect))
		}
	}
	return nil
}

// migrationSteps are the parts of migrations that SQL cannot say the same
// way on both stores, by migration number: each runs in its migration's
// transaction, after its SQL.
var migrationSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	10: lowerCaseProfiles,
}

// lowerCaseProfiles sets name_lc and email_lc with Go's lower-casing, as
// the store writes them, where the SQL of migration 10 left them otherwise:
// SQLite's lower() (and PostgreSQL's under the C locale) folds ASCII only,
// so "Élodie" stayed "Élodie" and a search for "élodie" missed it.
func lowerCaseProfiles(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, email, name_lc, email_lc FROM members`)
	if err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	type fix struct{ id, name, email string }
	var fixes []fix
	for rows.Next() {
		var id, name, email, nameLC, emailLC string
		if err := rows.Scan(&id, &name, &email, &nameLC, &emailLC); err != nil {
			rows.Close()
			return fmt.Errorf("read names: %w", err)
		}
		if n, e := strings.ToLower(name), strings.ToLower(email); n != nameLC || e != emailLC {
			fixes = append(fixes, fix{id, n, e})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, `UPDATE members SET name_lc = $2, email_lc = $3 WHERE id = $1`, f.id, f.name, f.email); err != nil {
			return fmt.Errorf("lower-case names: %w", err)
		}
	}
	return nil
}

// MigrationVersions answers the numbers of the applied migrations, in order.
func (s *Store) MigrationVersions(ctx context.Context) ([]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("migration versions: %w", translate(err))
	}
	defer rows.Close()
	out := []int{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("migration versions: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migration versions: %w", err)
	}
	return out, nil
}
