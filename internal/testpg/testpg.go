// Package testpg gives tests a PostgreSQL database of their own: a fresh
// schema in the server named by PASSD_TEST_DATABASE_URL (which `make test`
// starts), dropped when the test ends. Without the variable a test is
// skipped locally but fails when CI is set, so CI never skips PostgreSQL.
package testpg

import (
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
)

// URL answers PASSD_TEST_DATABASE_URL or skips (fails under CI).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PASSD_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PASSD_TEST_DATABASE_URL is not set; CI must run the PostgreSQL tests (scripts/with-postgres.sh)")
		}
		t.Skip("PASSD_TEST_DATABASE_URL is not set; run under scripts/with-postgres.sh")
	}
	return u
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
