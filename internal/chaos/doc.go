// Package chaos is passd's fault-injection suite: tests only. They build
// the passd binary, run it as a real process beside a mock APNs, a fake
// Google Wallet and the test PostgreSQL, and break things under load:
// SIGKILL, a database restart, an APNs outage, a Google 429/503 storm, a
// full SQLite database. Each case then checks the ledger invariants (per
// member, the sum of the entries is the balance) and that no acknowledged
// write was lost or doubled.
//
// `make test` runs the bounded form; `make chaos` sets PASSD_CHAOS=long
// for longer outages and more rounds (docs/testing.md).
package chaos
