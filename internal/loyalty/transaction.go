package loyalty

import (
	"time"

	"github.com/passd/passd/balances"
)

// TransactionJSON is a ledger entry as the JSON API answers it and as a
// transaction.posted webhook carries it. Points is signed: redemptions and
// negative adjustments are negative. BasePoints + BonusPoints is Points;
// Amount and CampaignID are null when the transaction had none. OccurredAt
// is the sale's time (CreatedAt unless the till gave it).
type TransactionJSON struct {
	ID           string             `json:"id"`
	MemberID     string             `json:"member_id"`
	Type         balances.EntryType `json:"type"`
	Points       int64              `json:"points"`
	BalanceAfter int64              `json:"balance_after"`
	Reference    string             `json:"reference"`
	CreatedAt    time.Time          `json:"created_at"`
	Amount       *int64             `json:"amount"`
	// Count is a stamp's number of stamps; null for other types.
	Count *int64 `json:"count"`
	// Cashback is the signed change to the cashback balance; null when
	// the transaction made none.
	Cashback    *int64    `json:"cashback"`
	BasePoints  int64     `json:"base_points"`
	BonusPoints int64     `json:"bonus_points"`
	CampaignID  *string   `json:"campaign_id"`
	OccurredAt  time.Time `json:"occurred_at"`
	// Reason says why passd wrote a bonus; absent for other types.
	Reason string `json:"reason,omitempty"`
}

// NewTransactionJSON answers the transaction object of an entry.
func NewTransactionJSON(e Entry) TransactionJSON {
	j := TransactionJSON{ID: e.ID, MemberID: e.MemberID, Type: e.Type, Points: e.Points,
		BalanceAfter: e.BalanceAfter, Reference: e.Reference, CreatedAt: e.CreatedAt.UTC(),
		BasePoints: e.BasePoints, BonusPoints: e.BonusPoints, OccurredAt: e.OccurredAt.UTC(), Reason: e.Reason}
	if e.Amount != 0 {
		j.Amount = &e.Amount
	}
	if e.CampaignID != "" {
		j.CampaignID = &e.CampaignID
	}
	if e.Stamps != 0 {
		j.Count = &e.Stamps
	}
	if e.Cashback != 0 {
		j.Cashback = &e.Cashback
	}
	return j
}
