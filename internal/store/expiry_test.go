package store_test

import (
	"path/filepath"
	"testing"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testpg"
)

func TestPostgresExpiryTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	storetest.ExpireTwoInstances(t, openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{}))
}

func TestSQLiteExpiryTwoInstances(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passd.db")
	storetest.ExpireTwoInstances(t, openSQLiteAt(t, path, store.Options{}), openSQLiteAt(t, path, store.Options{}))
}
