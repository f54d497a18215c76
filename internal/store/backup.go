package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
)

// ErrNotSQLite means a backup or restore was asked of the PostgreSQL store,
// whose own tools (pg_dump, pg_basebackup) do it.
var ErrNotSQLite = errors.New("backup and restore are for the SQLite store only; on PostgreSQL use pg_dump or pg_basebackup")

// BackupSQLite writes a consistent copy of the SQLite database at db to
// file with VACUUM INTO, while passd goes on writing: the copy is the
// snapshot of one read transaction (WAL mode lets writers go on), so it
// holds every transaction committed before it began and none after. It
// reads db on a connection of its own and writes nothing to it: it neither
// creates db nor applies migrations, so it never waits for passd's write
// lock. file must not exist; the copy is synced to disk before BackupSQLite
// returns, and removed when it fails.
func BackupSQLite(ctx context.Context, db, file string) error {
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("backup: no passd database: %w", err)
	}
	if _, err := os.Lstat(file); err == nil {
		return fmt.Errorf("backup: %s exists already", file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "5000")
	conn, err := sql.Open("sqlite", db+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", db, err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, file); err != nil {
		if !errors.Is(err, os.ErrExist) {
			os.Remove(file)
		}
		return fmt.Errorf("backup: vacuum %s into %s: %w", db, file, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", file, err)
	}
	return nil
}

// LatestMigration answers the number of the dialect's newest migration:
// the newest schema this binary knows.
func LatestMigration(dialect string) (int, error) {
	ms, err := migrations(dialect)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].version, nil
}

// CheckSQLiteFile checks that path is a sound passd SQLite database that
// this binary can run: PRAGMA integrity_check answers ok, and its
// schema_migrations table exists and names no migration newer than
// LatestMigration. It answers the newest migration applied. It opens the
// file read-only and writes nothing.
func CheckSQLiteFile(ctx context.Context, path string) (int, error) {
	if fi, err := os.Stat(path); err != nil {
		return 0, err
	} else if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", path)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&ok); err != nil {
		return 0, fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	}
	if ok != "ok" {
		return 0, fmt.Errorf("%s fails SQLite's integrity check: %s", path, ok)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s is not a passd database: it has no schema_migrations table", path)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: read schema_migrations: %w", path, err)
	}
	if !v.Valid {
		return 0, fmt.Errorf("%s is not a passd database: no migration applied", path)
	}
	latest, err := LatestMigration(DialectSQLite)
	if err != nil {
		return 0, err
	}
	if int(v.Int64) > latest {
		return 0, fmt.Errorf("%s has migration %d, newer than this passctl's %d: restore it with the passctl of the passd that made it", path, v.Int64, latest)
	}
	return int(v.Int64), nil
}

// CheckpointSQLiteFile copies what the write-ahead log of the SQLite
// database at path holds into the database file and empties the log, so
// that the file alone holds every committed write. Nothing else may use
// the database meanwhile.
func CheckpointSQLiteFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, logged, done int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint %s: the database is in use", path)
	}
	return nil
}

// restoreEpochName is the counters row that holds the restore epoch
// (MarkRestored).
const restoreEpochName = "restore_epoch"

// MarkRestored readies the SQLite database at path, a backup about to be
// restored, for the phones and Google Wallet objects that saw writes made
// after the backup and lost with the restore. In one transaction it
//
//   - gives the database a new random restore epoch, which UpdatedSerials
//     puts in its tags: a phone's tag from before the restore then lists
//     every card, however far the restored update counter gets;
//   - bumps every live card as TouchProgram does (pass version, a
//     Last-Modified of now at least, dirty on both channels), so that passd
//     pushes every card once it starts, and a phone that asks with the
//     If-Modified-Since of a lost version gets the restored card rather
//     than 304.
//
// It opens path as a store, so it applies this binary's migrations first,
// as passd would at start. passctl restore calls it on the copy it
// installs, before any passd opens it.
func MarkRestored(ctx context.Context, path string, opts Options) error {
	s, err := OpenSQLite(ctx, path, opts)
	if err != nil {
		return err
	}
	now := s.clock()
	epoch := rand.Int64N(math.MaxInt64) + 1
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, restoreEpochName, epoch); err != nil {
			return err
		}
		_, err := s.touchCards(ctx, tx, func(col string) string {
			return col + " IN (SELECT id FROM members WHERE erased_at IS NULL AND $1 = 1)"
		}, 1, now)
		return err
	})
	if err := errors.Join(err, s.Close()); err != nil {
		return fmt.Errorf("mark %s restored: %w", path, err)
	}
	return nil
}

// readRestoreEpoch answers the database's restore epoch as it goes in
// tags: "" when it was never restored.
func readRestoreEpoch(ctx context.Context, q *sql.DB) (string, error) {
	var epoch int64
	err := q.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = $1`, restoreEpochName).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read restore epoch: %w", err)
	}
	return strconv.FormatInt(epoch, 10), nil
}
