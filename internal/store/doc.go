// Package store keeps passd's state in SQLite (the embedded default) or
// PostgreSQL (through pgx v5): members, the append-only points ledger with
// its materialized accounts, idempotency keys, API keys, PassKit device
// registrations, the sync engine's dirty marks, and programmes as versioned
// rows whose changes reach the cards in batches (programs.go).
//
// Both databases run the same SQL through database/sql; the few places where
// the dialects differ (row locks, SKIP LOCKED, the update sequence, driver
// errors, time columns) live in dialect.go, plus one file per dialect for
// the schema and Post's write statement, which PostgreSQL runs as a single
// statement of data-modifying CTEs.
//
// Every change that alters what a card shows bumps the member's pass version
// in the same transaction and raises the card's wanted version on each sync
// channel; ClaimDue, Complete and Fail are the sync workers' side.
package store
