package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrBusy means the database stayed locked longer than Options.LockTimeout.
// Post reports it as balances.ErrRequestInProgress as well.
var ErrBusy = errors.New("database busy")

// Options configure a Store. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil. Every stored time comes from it.
	Now func() time.Time
	// Logger receives the store's few log lines; slog.Default() when nil.
	Logger *slog.Logger
	// SyncDebounce delays the first delivery of a card that turns dirty, so
	// that a burst of changes costs one push.
	SyncDebounce time.Duration
	// LockTimeout bounds the wait for a member's row lock (PostgreSQL) or the
	// database write lock (SQLite); 5s when zero.
	LockTimeout time.Duration
	// MaxConns bounds the PostgreSQL pool, and the SQLite reader pool; 20
	// and max(4, GOMAXPROCS) when zero.
	MaxConns int
	// MessageBatch bounds the members one transaction of PostTierMessage
	// writes; DefaultMessageBatch when zero.
	MessageBatch int
	// Channels are the sync channels a new member's card gets a sync row
	// on (loyalty.Channels() when nil): a channel that is off (Google
	// Wallet without an issuer) gets none, so nothing waits for it.
	Channels []string
	// Instance is this process's id (internal/lease), recorded as the
	// owner of the work it claims; empty records none, and such claims
	// come back only when their lease runs out.
	Instance string
}

// Dialect names.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store keeps passd's state in SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	// w runs every write transaction; on SQLite it holds one connection so
	// writers in this process queue in Go rather than in SQLite's busy
	// handler. r runs plain reads; on PostgreSQL it is w.
	w, r *sql.DB
	// rd runs plain reads: on SQLite through statements prepared once
	// (rdPrepared), on PostgreSQL straight on r, since pgx keeps each
	// connection's prepared statements itself.
	rd          queryer
	rdPrepared  *preparedReader
	dialect     string
	rep         *strings.Replacer
	now         func() time.Time
	log         *slog.Logger
	debounce    time.Duration
	lockTimeout time.Duration
	// post holds Post's statements prepared once on SQLite's writer
	// connection: modernc.org/sqlite otherwise parses every statement on
	// every call, a fifth of an earn's CPU. Nil on PostgreSQL.
	postStmts *postStmts
	// group queues SQLite's Posts for group commits (group.go).
	group postGroup
	// beforeCommit, when set, runs in every write transaction just before
	// it commits, with the write's context. Only tests set it
	// (export_test.go), to hold a transaction open.
	beforeCommit func(ctx context.Context)
	// members runs Member on PostgreSQL, pipelining concurrent reads; nil
	// on SQLite, whose reads have no round trip to save.
	members *memberBatcher
	// poolSize is PostgreSQL's pool size (Options.MaxConns).
	poolSize int
	// messageBatch is Options.MessageBatch.
	messageBatch int
	// denseMatches is DefaultDenseMatches; tests lower it (export_test.go).
	denseMatches int
	// restoreEpoch is the SQLite database's restore epoch (MarkRestored),
	// read at open: "" until the database was first restored. It cannot
	// change while the store is open, since restore refuses while passd
	// runs.
	restoreEpoch string
	// newCards inserts a new member's sync rows, one per Options.Channels.
	newCards string
	// instance is Options.Instance, as bound: nil when empty.
	instance any
	// session is the PostgreSQL connection this instance heart-beats on
	// (leases.go); nil on SQLite and until the first heartbeat.
	sessionMu sync.Mutex
	session   *sql.Conn
}

func applyDefaults(opts Options) Options {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 5 * time.Second
	}
	if opts.MessageBatch <= 0 {
		opts.MessageBatch = DefaultMessageBatch
	}
	return opts
}

func newStore(w, r *sql.DB, dialect string, opts Options) *Store {
	s := &Store{
		w: w, r: r, rd: r,
		dialect:      dialect,
		rep:          strings.NewReplacer(dialectTokens(dialect)...),
		now:          opts.Now,
		log:          opts.Logger,
		debounce:     opts.SyncDebounce,
		lockTimeout:  opts.LockTimeout,
		messageBatch: opts.MessageBatch,
		denseMatches: DefaultDenseMatches,
	}
	if opts.Instance != "" {
		s.instance = opts.Instance
	}
	s.newCards = newCardsSQL(opts.Channels)
	if dialect == DialectSQLite {
		s.rdPrepared = newPreparedReader(r)
		s.rd = s.rdPrepared
	} else {
		s.rd = retryReader{db: r, s: s}
	}
	return s
}

// sqliteMmapSize is how much of the database file each reader connection
// maps: none. Mapped pages are the kernel's page cache, but they count in
// passd's RSS, once per connection that maps them: with 1 GiB mapped (as
// before), passd's RSS passed 600 MB while 100,000 cards were fetched, and
// with 32 MiB it was still three times the database's mapped start. Reads
// go through SQLite's own bounded page cache and read(2) instead, a few
// microseconds on a fetch that signs for hundreds (docs/benchmarks.md).
const sqliteMmapSize = 0

// sqliteReaderCacheKiB is each reader connection's page cache, negative
// as SQLite takes a size in KiB: 512 KiB rather than SQLite's 2 MiB, for
// the readers' caches live outside Go's heap and its memory limit, one per
// connection, and a read of a member touches a few pages of indexes whose
// upper levels stay cached (the writer keeps SQLite's default).
const sqliteReaderCacheKiB = -512

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// applies the migrations. The file is kept in WAL mode with synchronous=FULL,
// so a committed ledger entry survives a power loss. path must name a file:
// the store opens it twice (a writer and a reader pool), which ":memory:"
// would turn into two different databases.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	opts = applyDefaults(opts)
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("open sqlite: %q is not a plain file path", path)
	}
	common := url.Values{}
	common.Set("_busy_timeout", strconv.FormatInt(opts.LockTimeout.Milliseconds(), 10))
	common.Set("_foreign_keys", "on")
	common.Set("_time_integer_format", "unix_micro")

	wq := url.Values{}
	for k, v := range common {
		wq[k] = v
	}
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", "FULL")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first so the file is in WAL mode before any reader.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	rq := url.Values{}
	for k, v := range common {
		rq[k] = v
	}
	rq.Set("_query_only", "on")
	// See sqliteMmapSize.
	rq.Add("_pragma", fmt.Sprintf("mmap_size(%d)", sqliteMmapSize))
	rq.Add("_pragma", fmt.Sprintf("cache_size(%d)", sqliteReaderCacheKiB))
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := newStore(w, r, DialectSQLite, opts)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.postStmts, err = preparePost(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	if s.restoreEpoch, err = readRestoreEpoch(ctx, s.r); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres://
// URL or a keyword/value string; runtime parameters such as search_path are
// honoured) and applies the migrations.
func OpenPostgres(ctx context.Context, url string, opts Options) (*Store, error) {
	opts = applyDefaults(opts)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: do not echo it.
		return nil, errors.New("open postgres: cannot parse the database URL")
	}
	// Every lock wait is bounded, the ledger's row lock first of all. Set
	// for the session rather than with SET LOCAL in each transaction, which
	// would cost Post a round trip.
	if _, ok := cfg.RuntimeParams["lock_timeout"]; !ok {
		cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(opts.LockTimeout.Milliseconds(), 10)
	}
	if _, ok := cfg.RuntimeParams["timezone"]; !ok {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := newStore(db, db, DialectPostgres, opts)
	// One lane per core, two at least: fewer lanes make larger batches
	// and spare the server wake-ups, but on two cores one lane fetched no
	// faster than two (BenchmarkMessageFanout, alternated runs). Half the
	// pool at most, so that writes always find a connection.
	s.poolSize = n
	s.members = newMemberBatcher(db, min(max(2, runtime.GOMAXPROCS(0)), n/2), n, memberReadTimeout)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database connections.
func (s *Store) Close() error {
	s.closeSession()
	if s.postStmts != nil {
		s.postStmts.close()
	}
	if s.rdPrepared != nil {
		s.rdPrepared.close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// Dialect answers "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// q expands the dialect tokens of a query.
func (s *Store) q(query string) string { return s.rep.Replace(query) }

// clock answers the current time as stored: UTC, microseconds.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// bumpSeq raises SQLite's update counter, which {{next_seq}} and
// {{set_update_seq}} then read, in the write transaction tx; on PostgreSQL
// they draw from a sequence and this does nothing.
func (s *Store) bumpSeq(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != DialectSQLite {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'update_seq'`); err != nil {
		return fmt.Errorf("bump update sequence: %w", err)
	}
	return nil
}

// write runs fn in a write transaction and commits it when fn returns nil.
// Errors meaning "locked for too long" come back as ErrBusy.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var tx *sql.Tx
	if s.dialect == DialectSQLite {
		conn, err := s.writerConn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", translate(err))
		}
	} else {
		var err error
		tx, err = s.beginTx(ctx, s.w, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", translate(err))
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return translate(err)
	}
	if s.beforeCommit != nil {
		s.beforeCommit(ctx)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}

// writerConn takes this process's single SQLite writer connection,
// waiting at most LockTimeout, like a PostgreSQL row lock (then SQLite's
// own busy_timeout bounds the wait for other processes); a wait that ran
// out while ctx lives is errBusyWriter.
func (s *Store) writerConn(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, s.lockTimeout)
	conn, err := s.w.Conn(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, s.errBusyWriter()
		}
		return nil, fmt.Errorf("begin: %w", err)
	}
	return conn, nil
}

// errBusyWriter is ErrBusy for a write that waited LockTimeout for the
// writer.
func (s *Store) errBusyWriter() error {
	return fmt.Errorf("%w: waited %v for the writer", ErrBusy, s.lockTimeout)
}

// read runs fn in a read-only transaction that sees one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.beginTx(ctx, s.r, opts)
	if err != nil {
		return fmt.Errorf("begin read: %w", translate(err))
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return nil
}
