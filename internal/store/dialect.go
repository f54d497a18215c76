package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// This file holds what differs between SQLite and PostgreSQL, apart from the
// migrations and Post's write statement (ledger.go): SQL tokens, driver
// error translation and time columns.

// dialectTokens answers the tokens in SQL text for the few differences
// between the dialects, and their expansions; s.q expands them.
//
//   - {{for_update}}, {{for_update_of_a}}: a row lock, PostgreSQL only:
//     SQLite's BEGIN IMMEDIATE already holds the database write lock.
//   - {{skip_locked}}: FOR UPDATE SKIP LOCKED, PostgreSQL only.
//   - {{next_seq}}: the next value of the global update sequence. On SQLite
//     it reads the counter row that s.bumpSeq raised earlier in the same
//     transaction, so every row a statement touches shares one value.
//   - {{set_update_seq}}: the SET assignments of an UPDATE of accounts that
//     marks the card changed for the PassKit web service: update_seq =
//     {{next_seq}} and, on PostgreSQL, update_xid = the writing
//     transaction's id (see UpdatedSerials). An INSERT gets update_xid from
//     the column's default.
//   - {{collate_c}}: after a text column, byte-wise comparison: COLLATE "C"
//     on PostgreSQL, nothing on SQLite, whose BINARY default already is.
//   - {{no_index}}: before a column, keeps SQLite from using an index on it
//     for that term (unary +); nothing on PostgreSQL, whose planner weighs
//     the alternatives by cost.
func dialectTokens(dialect string) []string {
	if dialect == DialectSQLite {
		return []string{
			"{{for_update}}", "",
			"{{for_update_of_a}}", "",
			"{{skip_locked}}", "",
			"{{next_seq}}", "(SELECT value FROM counters WHERE name = 'update_seq')",
			"{{set_update_seq}}", "update_seq = (SELECT value FROM counters WHERE name = 'update_seq')",
			"{{collate_c}}", "",
			"{{no_index}}", "+",
		}
	}
	return []string{
		"{{for_update}}", "FOR UPDATE",
		"{{for_update_of_a}}", "FOR UPDATE OF a",
		"{{skip_locked}}", "FOR UPDATE SKIP LOCKED",
		"{{next_seq}}", "nextval('update_seq')",
		"{{set_update_seq}}", "update_seq = nextval('update_seq'), update_xid = pg_current_xact_id()",
		"{{collate_c}}", ` COLLATE "C"`,
		"{{no_index}}", "",
	}
}

// translate turns driver errors that callers act on into the store's
// sentinels, keeping the driver's text for the logs: ErrBusy, and
// loyalty.ErrUnavailable for a database out of reach or out of space.
// Other errors pass through unchanged.
func translate(err error) error {
	if err == nil || errors.Is(err, ErrBusy) || errors.Is(err, loyalty.ErrUnavailable) {
		return err
	}
	if isBusy(err) {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	if connFailure(err) || diskFull(err) {
		return fmt.Errorf("%w: %w", loyalty.ErrUnavailable, err)
	}
	return err
}

// connFailure reports an error of the connection to the database rather
// than of the statement: the server is down, restarting or was restarted
// under the connection (PostgreSQL's class 08 and 57P01-57P03), or the
// network to it failed. The caller's own end (its context) is not one.
func connFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.SafeToRetry(err)
}

// diskFull reports SQLite's "database or disk is full" (the disk, or the
// database's max_page_count).
func diskFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// isBusy reports a lock wait that ran past its timeout or was ended.
func isBusy(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// lock_not_available, or deadlock_detected: PostgreSQL ended one
		// side of a lock cycle (a referral earn against a programme-wide
		// batch, see referral.go); a retry runs alone.
		return pe.Code == "55P03" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// uniqueViolation reports a unique constraint violation and, to tell the
// constraints apart, a text naming it (PostgreSQL: the constraint or index
// name; SQLite: the message, which lists the columns).
func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName, pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return se.Error(), c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return "", false
}

// requestInProgress adds balances.ErrRequestInProgress to a busy error.
func requestInProgress(err error) error {
	if errors.Is(err, ErrBusy) && !errors.Is(err, balances.ErrRequestInProgress) {
		return fmt.Errorf("%w: %w", balances.ErrRequestInProgress, err)
	}
	return err
}

// ts scans a time column: timestamptz on PostgreSQL, integer unix
// microseconds on SQLite. NULL scans as the zero time.
type ts struct{ t *time.Time }

func (c ts) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = x.UTC()
	case int64:
		*c.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// nts scans a nullable time column into a pointer, nil for NULL.
type nts struct{ t **time.Time }

func (c nts) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (ts{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// nullTime binds a time that may be absent: nil for the zero time.
func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}
