// Package testpg gives tests a PostgreSQL database of their own: a fresh
// schema in the server named by PASSD_TEST_DATABASE_URL (which `make test`
// starts), dropped when the test ends. Without the variable a test is
// skipped locally but fails when CI is set, so CI never skips PostgreSQL.
package testpg

import (
	"database/sql"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
)

// URL answers PASSD_TEST_DATABASE_URL or skips (fails under CI).
func URL(t testing.TB) string {
	t.Helper()
	return env(t, "PASSD_TEST_DATABASE_URL")
}

// env answers the variable that scripts/with-postgres.sh sets, or skips
// (fails under CI, which must never skip PostgreSQL).
func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(name + " is not set; CI must run the PostgreSQL tests (scripts/with-postgres.sh)")
		}
		t.Skip(name + " is not set; run under scripts/with-postgres.sh")
	}
	return v
}

// FreshSchema creates an empty schema for one test, dropped when it ends,
// and answers the database URL that selects it.
func FreshSchema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse PASSD_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// UnixSocketURL answers a fresh schema's URL (FreshSchema) that reaches
// the server through its Unix socket, in the folder scripts/with-postgres.sh
// exports as PASSD_TEST_PG_SOCKET_DIR; ok is false without it.
func UnixSocketURL(t testing.TB) (u string, ok bool) {
	t.Helper()
	dir := os.Getenv("PASSD_TEST_PG_SOCKET_DIR")
	if dir == "" {
		return "", false
	}
	return FreshSchema(t) + "&host=" + url.QueryEscape(dir), true
}

// ServerCPU answers the CPU time every postgres process on the machine has
// used so far, from /proc (zero where there is none). Benchmarks take the
// difference across their loop: the throwaway server is the only
// PostgreSQL when they run, and it shares the cores with passd. Processes
// that ended in between are not counted.
func ServerCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: utime and stime are the 14th and
		// 15th fields, the 12th and 13th after the comm.
		head, rest, ok := strings.Cut(string(data), ") ")
		if !ok || !strings.HasSuffix(head, "(postgres") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		for _, v := range f[11:13] {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ticks += n
			}
		}
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}
