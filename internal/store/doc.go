// Package store keeps passd's state in SQLite (the embedded default) or
// PostgreSQL (through pgx v5): members, the append-only points ledger with
// its materialized accounts, idempotency keys, API keys, PassKit device
// registrations and the sync engine's dirty marks.
//
// Both databases run the same SQL through database/sql; the few places where
// the dialects differ (row locks, SKIP LOCKED, upserts) live in dialect.go.
package store
