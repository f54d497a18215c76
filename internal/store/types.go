package store

import "github.com/passd/passd/internal/loyalty"

// The store persists the domain's types; these are its names for them.
type (
	Entry        = loyalty.Entry
	Account      = loyalty.Account
	MemberRow    = loyalty.MemberRow
	APIKey       = loyalty.APIKey
	PostResult   = loyalty.PostResult
	Event        = loyalty.Event
	SyncState    = loyalty.SyncState
	Export       = loyalty.Export
	Registration = loyalty.Registration
	SyncJob      = loyalty.SyncJob
)

// Sentinel errors of the store, besides loyalty.ErrMemberNotFound and the
// balances errors, which it returns as they are.
var (
	ErrNotFound  = loyalty.ErrNotFound
	ErrDuplicate = loyalty.ErrDuplicate
	ErrBadCursor = loyalty.ErrBadCursor
)
