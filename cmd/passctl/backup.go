package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/datalock"
	"github.com/passd/passd/internal/store"
)

// sqliteOnly answers passd's configuration, or an error when it is on
// PostgreSQL, whose own tools back it up.
func sqliteOnly(cmd string, getenv func(string) string) (config.Config, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	if cfg.DatabaseURL != "" {
		return cfg, fmt.Errorf("%s: PASSD_DATABASE_URL is set: %w", cmd, store.ErrNotSQLite)
	}
	return cfg, nil
}

// backup writes a consistent copy of passd's SQLite database to file while
// passd runs (store.BackupSQLite: VACUUM INTO on one read snapshot). It
// does not open the store, which would apply migrations: a write that waits
// for passd's write lock, and a schema change under a running passd.
func backup(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) (int, error) {
	if len(args) != 1 || args[0] == "" {
		return 2, fmt.Errorf("backup: give one FILE to write: %w", errUsage)
	}
	cfg, err := sqliteOnly("backup", getenv)
	if err != nil {
		return 1, err
	}
	file, err := filepath.Abs(args[0])
	if err != nil {
		return 1, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(file); err == nil {
		return 1, fmt.Errorf("backup: %s exists already; passctl never overwrites a file", file)
	}
	if err := store.BackupSQLite(ctx, filepath.Join(cfg.DataDir, "passd.db"), file); err != nil {
		return 1, err
	}
	fmt.Fprintf(stderr, "backed up passd's database to %s\n", file)
	return 0, nil
}

// restore replaces the data folder's passd.db with a copy of file, once it
// has checked that no passd runs there and that file is a sound passd
// database this passctl can run. The replaced database is kept beside it as
// passd.db.before-restore-<UTC time>, with its write-ahead log if any;
// SQLite's shared-memory file of the replaced database is removed.
func restore(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stderr io.Writer) (int, error) {
	if len(args) != 1 || args[0] == "" {
		return 2, fmt.Errorf("restore: give one FILE to restore: %w", errUsage)
	}
	cfg, err := sqliteOnly("restore", getenv)
	if err != nil {
		return 1, err
	}
	if err := restoreInto(ctx, args[0], cfg.DataDir, now().UTC(), stderr); err != nil {
		return 1, fmt.Errorf("restore: %w", err)
	}
	return 0, nil
}

func restoreInto(ctx context.Context, file, dir string, now time.Time, stderr io.Writer) (err error) {
	if fi, err := os.Stat(file + "-wal"); err == nil && fi.Size() > 0 {
		return fmt.Errorf("%s has a write-ahead log beside it (%s-wal): it looks like a live database, not a backup; make one with passctl backup", file, file)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	lock, err := datalock.Exclusive(dir)
	if errors.Is(err, datalock.ErrHeld) {
		return fmt.Errorf("a passd is running on the data folder %s (it holds %s): stop it first", dir, datalock.Name)
	} else if err != nil {
		return err
	}
	defer lock.Close()

	db := filepath.Join(dir, "passd.db")
	if a, err := os.Stat(file); err == nil {
		if b, err := os.Stat(db); err == nil && os.SameFile(a, b) {
			return fmt.Errorf("%s is the data folder's own database", file)
		}
	}
	stamp := now.Format("20060102T150405.000000000Z")
	tmp := filepath.Join(dir, "passd.db.restoring-"+stamp)
	if err := copyFile(file, tmp); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	version, err := store.CheckSQLiteFile(ctx, tmp)
	if err != nil {
		return err
	}
	if err := store.MarkRestored(ctx, tmp, store.Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return err
	}

	kept := ""
	if _, err := os.Stat(db); err == nil {
		// The replaced database keeps every write it committed: its log
		// goes into the file, or along with it when that fails.
		if err := store.CheckpointSQLiteFile(ctx, db); err != nil {
			fmt.Fprintf(stderr, "passctl: the replaced database's write-ahead log is kept beside it: %v\n", err)
		}
		kept = db + ".before-restore-" + stamp
		if err := os.Rename(db, kept); err != nil {
			return err
		}
		if err := os.Rename(db+"-wal", kept+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// A stale shared-memory index or log must never pair with the restored
	// file: SQLite would read it as the new database's.
	for _, stale := range []string{db + "-wal", db + "-shm", db + "-journal"} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, db); err != nil {
		if kept != "" {
			// Never leave the folder without a database: passd would
			// start on a new, empty one.
			err = errors.Join(err, os.Rename(kept, db))
		}
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "restored %s (schema migration %d) into %s\n", file, version, db)
	if kept != "" {
		fmt.Fprintf(stderr, "the replaced database is kept as %s\n", kept)
	}
	return nil
}

// copyFile copies src to dst, which must not exist, and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
