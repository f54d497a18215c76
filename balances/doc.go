// Package balances holds passd's points ledger rules: the entry types a
// point-of-sale or merchant may post (earn, redeem, adjust), how an entry
// moves a member's materialized account (balance, lifetime and qualifying
// points, tier, pass version), the tier ladder of a program, and how an
// earn's purchase amount becomes points under the best running campaign
// (earn.go), and how credited points form lots that debits spend oldest
// first and that expire (expiry.go).
//
// The package is pure: it knows nothing of SQL or HTTP. Stores call Apply
// inside the transaction that holds the member's account row lock, so the
// rules here are the single place where a balance can change.
package balances
