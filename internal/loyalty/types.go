package loyalty

import (
	"errors"
	"time"

	"github.com/passd/passd/balances"
)

// Entry is a ledger entry.
type Entry = balances.Entry

// Account is a member's materialized ledger state.
type Account = balances.Account

// MemberRow is a member with its account row, as one read of the store
// answers it.
type MemberRow struct {
	Member
	Account Account
	// PassModified is when the member's card last changed. It increases by
	// at least one second with every pass version, so HTTP dates (one-second
	// resolution) tell every version apart.
	PassModified time.Time
	// UpdateSeq orders card changes across members; on SQLite the PassKit
	// web service's "updated since" tag is built from it (on PostgreSQL
	// from the writing transaction's id).
	UpdateSeq int64
	// ProgramMessage is the program's current merchant message ("" for
	// none), read with the member: a card is built from one read, in which
	// the message and the pass version agree.
	ProgramMessage string
	// ProgramVersion is the version of the member's programme row as read
	// with the member (0 when the programme has no row): a server holding
	// an older version of the programme reloads it before building the card.
	ProgramVersion int64
	// ProgramMessageAt is when ProgramMessage was posted (zero for none).
	ProgramMessageAt time.Time
	// MemberMessage is the member's own merchant message ("" for none),
	// sent to this member or to their tier, and MemberMessageAt when it
	// was posted.
	MemberMessage   string
	MemberMessageAt time.Time
	// LastActivityAt is when the member's latest ledger entry was posted,
	// or when they enrolled before any.
	LastActivityAt time.Time
	// Vouchers are the member's unused vouchers, oldest first, read with
	// the member (one read builds a card); some may be past their
	// expires_at: see ShownVouchers.
	Vouchers []OpenVoucher
	// Expiring is the member's next lot of points to expire, read with
	// the member; nil when no points expire.
	Expiring *PointsExpiring
	// DormantAt is the start of the dormant spell the member was greeted
	// for (zero for none): the card shows the programme's dormant message
	// until the member's next transaction.
	DormantAt time.Time
}

// PointsExpiring is the next lot of a member's points to expire.
type PointsExpiring struct {
	// Points is what is left of the lot; At is when it expires.
	Points int64
	At     time.Time
	// Reminded is true once the lot's reminder is due: from then until
	// the lot expires or is spent, the card says so.
	Reminded bool
}

// CardMessage is the merchant message the member's cards show, and when it
// was posted: the newer of the program's message and the member's own
// ("" and the zero time for none). An erased member's card shows none.
func (r MemberRow) CardMessage() (string, time.Time) {
	switch {
	case r.Erased():
		return "", time.Time{}
	case r.MemberMessage != "" && (r.ProgramMessage == "" || !r.MemberMessageAt.Before(r.ProgramMessageAt)):
		return r.MemberMessage, r.MemberMessageAt
	case r.ProgramMessage != "":
		return r.ProgramMessage, r.ProgramMessageAt
	}
	return "", time.Time{}
}

// Sentinel errors of storage, which the store translates its drivers'
// errors to; the HTTP surfaces map them with errors.Is.
var (
	// ErrNotFound means the asked row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means a unique value (member number, API key) is taken.
	ErrDuplicate = errors.New("duplicate")
	// ErrUnavailable means the database could not be reached (it is
	// restarting, the network to it broke) or cannot take writes (its
	// disk is full). A write that fails so may or may not have committed:
	// a client retries it with the same Idempotency-Key.
	ErrUnavailable = errors.New("database unavailable")
	// ErrBadCursor means a paging cursor is not one passd handed out.
	ErrBadCursor = errors.New("bad cursor")
	// ErrVersionMismatch means a change was asked against a programme
	// version that is no longer the current one (If-Match); nothing was
	// written.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrInvalidImage means an uploaded image is not one a wallet can show
	// (not a PNG, or outside the sizes of its slot); the error says which.
	ErrInvalidImage = errors.New("invalid image")
)

// Channels of the sync engine: the ways a card reaches phones.
const (
	ChannelApple  = "apple"
	ChannelGoogle = "google"
)

// Channels lists every channel.
func Channels() []string { return []string{ChannelApple, ChannelGoogle} }

// Sync states of a card on a channel.
const (
	SyncPending = "pending" // wanted_version > synced_version, will be delivered
	SyncOK      = "ok"      // delivered
	SyncError   = "error"   // gave up after the bounded number of tries
)

// APIKey is a stored API key. Only the SHA-256 of the secret is kept.
type APIKey struct {
	ID        string
	Hash      string // hex SHA-256 of the full key
	Role      string
	Program   string // empty: every program
	CreatedAt time.Time
	RevokedAt *time.Time

	// LastUsedAt is when the key last authenticated a request, to the
	// minute (the store's TouchAPIKey); nil when it never did.
	LastUsedAt *time.Time
}

// PostResult is the outcome of posting a ledger entry.
type PostResult struct {
	Entry       Entry
	Account     Account
	Replayed    bool // true when an idempotency key replay answered a stored result
	TierChanged bool
	// Vouchers are those a stamp issued by filling the card (one per
	// goal reached), also on a replay.
	Vouchers []Voucher
}

// Event is something that happened to a member other than a ledger entry
// (a tier change, an erasure, a message); kept for the export.
type Event struct {
	Seq       int64
	MemberID  string
	Kind      string // "tier_changed", "erased", ...
	Data      string // JSON
	CreatedAt time.Time
}

// SyncState is a card's delivery state on one channel.
type SyncState struct {
	MemberID      string
	Channel       string
	WantedVersion int64
	SyncedVersion int64
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	State         string
	UpdatedAt     time.Time
}

// Export is everything passd keeps about one member.
type Export struct {
	Member        MemberRow
	Entries       []Entry
	Events        []Event
	Registrations []Registration
	Sync          []SyncState
	// Consents are the member's marketing answers, oldest first.
	Consents []Consent
}

// Registration is one device registered for one member's Apple pass.
type Registration struct {
	DeviceID   string
	PushToken  string
	PassTypeID string
	MemberID   string // the pass serial number
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SyncJob is a claimed dirty card to deliver on one channel.
type SyncJob struct {
	MemberID      string
	Channel       string
	WantedVersion int64
	Attempts      int // tries made before this one
}
