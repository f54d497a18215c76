// Command passctl is passd's operator tool: API keys, console users,
// database migrations, development certificates, checking .pkpass files,
// load generation, and backing up and restoring the SQLite database.
//
//	passctl apikey create --role pos|merchant|admin [--program P]
//	passctl apikey list
//	passctl apikey revoke ID
//	passctl user create --email E --role merchant|pos|admin [--program P] < password
//	passctl user list
//	passctl user disable ID|EMAIL
//	passctl user reset ID|EMAIL
//	passctl migrate
//	passctl certs dev [--dir DIR]
//	passctl verify FILE.pkpass [--wwdr WWDR.pem]
//	passctl load --key KEY [--url URL] [--duration 10s] ...
//	passctl backup FILE
//	passctl restore FILE
//
// It reads the same environment as passd (PASSD_DATABASE_URL,
// PASSD_DATA_DIR, ...).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/store"
)

const usage = `passctl: passd's operator tool

  passctl apikey create --role pos|merchant|admin [--program P]   print a new API key once
  passctl apikey list                                              list API keys (never the keys themselves)
  passctl apikey revoke ID                                         revoke a key at once, on every instance
  passctl user create --email E --role merchant|pos|admin [--program P]
                                                                   add a console user; the password is read from
                                                                   stdin, or without one a set-password link is printed
  passctl user list                                                list console users (never their passwords)
  passctl user disable ID|EMAIL                                    disable a user and end their sessions
  passctl user reset ID|EMAIL                                      print a one-time set-password link
  passctl migrate                                                  apply database migrations
  passctl certs dev [--dir DIR]                                    generate development certificates
  passctl verify FILE.pkpass [--wwdr WWDR.pem]                     check a pass as iOS would
  passctl load --key KEY [--url URL] [--duration D] [flags]        load-test a running passd (load -h: all flags)
  passctl backup FILE                                              copy the SQLite database while passd runs
  passctl restore FILE                                             restore a backup into the data folder (passd stopped)

It reads passd's environment (PASSD_DATABASE_URL, PASSD_DATA_DIR, PASSD_APPLE_*).
`

// errUsage marks a command line that passctl does not understand.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := runIn(ctx, os.Args[1:], os.Getenv, stdinIfPiped(), os.Stdout, os.Stderr)
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
		}
		fmt.Fprintln(os.Stderr, "passctl:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// stdinIfPiped answers os.Stdin unless it is a terminal: passctl reads
// secrets only from a pipe or a file, never echoing them as typed.
func stdinIfPiped() io.Reader {
	if fi, err := os.Stdin.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	return os.Stdin
}

// run executes one command without stdin and answers its exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	return runIn(ctx, args, getenv, nil, stdout, stderr)
}

// runIn executes one command and answers its exit code; stdin is nil when
// there is none to read.
func runIn(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return 2, fmt.Errorf("no command: %w", errUsage)
	}
	switch args[0] {
	case "apikey":
		switch {
		case len(args) >= 2 && args[1] == "create":
			return apikeyCreate(ctx, args[2:], getenv, stdout, stderr)
		case len(args) == 2 && args[1] == "list":
			return apikeyList(ctx, getenv, stdout)
		case len(args) == 3 && args[1] == "revoke":
			return apikeyRevoke(ctx, args[2], getenv, stderr)
		}
		return 2, fmt.Errorf("apikey: the commands are 'apikey create', 'apikey list' and 'apikey revoke ID': %w", errUsage)
	case "user":
		return user(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "migrate":
		return migrate(ctx, getenv, stdout)
	case "certs":
		if len(args) < 2 || args[1] != "dev" {
			return 2, fmt.Errorf("certs: only 'certs dev' exists: %w", errUsage)
		}
		return certsDev(args[2:], getenv, stdout)
	case "verify":
		return verify(args[1:], stdout)
	case "load":
		return load(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], getenv, stderr)
	case "restore":
		return restore(ctx, args[1:], getenv, time.Now, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0, nil
	}
	return 2, fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

// openStore opens passd's database as configured.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	opts := store.Options{Logger: slog.New(slog.DiscardHandler)}
	if cfg.DatabaseURL != "" {
		return store.OpenPostgres(ctx, cfg.DatabaseURL, opts)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	return store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "passd.db"), opts)
}

func apikeyCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "pos, merchant or admin")
	prog := fs.String("program", "", "limit the key to one program")
	if err := fs.Parse(args); err != nil {
		return 2, fmt.Errorf("apikey create: %v: %w", err, errUsage)
	}
	if !loyalty.ValidRole(*role) {
		return 2, fmt.Errorf("apikey create: --role must be pos, merchant or admin: %w", errUsage)
	}
	return withStore(ctx, getenv, func(cfg config.Config, st *store.Store) error {
		if *prog != "" {
			if err := programExists(ctx, cfg, st, *prog); err != nil {
				return fmt.Errorf("apikey create: --program: %w", err)
			}
		}
		key, k, err := loyalty.CreateKey(ctx, st, *role, *prog, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		scope := k.Program
		if scope == "" {
			scope = "all programs"
		}
		fmt.Fprintf(stderr, "created API key %s (role %s, %s); it is shown only this once\n", k.ID, k.Role, scope)
		return nil
	})
}

// programExists reports whether program id is in the database or, for a
// database passd has not started on yet, among the templates that will
// seed it.
func programExists(ctx context.Context, cfg config.Config, st *store.Store, id string) error {
	if _, err := st.Program(ctx, id); err == nil {
		return nil
	}
	cat, err := server.LoadPrograms(cfg)
	if err != nil {
		return err
	}
	_, err = cat.Get(id)
	return err
}

// withStore runs fn on passd's configured database.
func withStore(ctx context.Context, getenv func(string) string, fn func(config.Config, *store.Store) error) (int, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return 1, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return 1, err
	}
	defer st.Close()
	if err := fn(cfg, st); err != nil {
		return 1, err
	}
	return 0, nil
}

// apikeyList prints every API key as a table, never the keys.
func apikeyList(ctx context.Context, getenv func(string) string, stdout io.Writer) (int, error) {
	return withStore(ctx, getenv, func(_ config.Config, st *store.Store) error {
		keys, err := st.APIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tPROGRAM\tCREATED\tLAST USED\tREVOKED")
		when := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.UTC().Format(time.RFC3339)
		}
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, cmp.Or(k.Program, "*"),
				k.CreatedAt.UTC().Format(time.RFC3339), when(k.LastUsedAt), when(k.RevokedAt))
		}
		return tw.Flush()
	})
}

// apikeyRevoke revokes one key; keys are checked against the database on
// every request, so every instance refuses it from the next request on.
func apikeyRevoke(ctx context.Context, id string, getenv func(string) string, stderr io.Writer) (int, error) {
	return withStore(ctx, getenv, func(_ config.Config, st *store.Store) error {
		if err := st.RevokeAPIKey(ctx, id); err != nil {
			return fmt.Errorf("apikey revoke %s: %w", id, err)
		}
		fmt.Fprintf(stderr, "revoked API key %s\n", id)
		return nil
	})
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) (int, error) {
	return withStore(ctx, getenv, func(_ config.Config, st *store.Store) error {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "migrations applied (%s)\n", st.Dialect())
		return nil
	})
}
