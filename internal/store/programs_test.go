package store_test

import (
	"path/filepath"
	"testing"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testpg"
)

// Two passd instances on one database mark a programme's cards at once:
// the programme row's lock keeps their shared cursor whole.

func TestSQLiteMarkingTwoInstances(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passd.db")
	storetest.ConcurrentMarking(t, openSQLiteAt(t, path, store.Options{}), openSQLiteAt(t, path, store.Options{}))
}

func TestPostgresMarkingTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	storetest.ConcurrentMarking(t, openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{}))
}
