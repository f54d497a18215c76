package balances

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EntryType is the kind of a ledger entry.
type EntryType string

// Entry types a client may post.
const (
	Earn   EntryType = "earn"
	Redeem EntryType = "redeem"
	Adjust EntryType = "adjust"
	// Stamp adds Count stamps to a stamp card.
	Stamp EntryType = "stamp"
	// CashbackSpend spends Amount minor units of the cashback balance.
	CashbackSpend EntryType = "cashback_spend"
)

// MaxStampCount bounds the count of one stamp entry (a programme's goal
// bounds it further).
const MaxStampCount = 100

// MaxPoints bounds the points of a single entry.
const MaxPoints = 1_000_000_000

// MaxReferenceLen bounds the free-text reference of an entry.
const MaxReferenceLen = 255

// Sentinel errors of the ledger.
var (
	// ErrInsufficientPoints means the entry would make the balance negative.
	ErrInsufficientPoints = errors.New("insufficient points")
	// ErrInsufficientCashback means a cashback_spend would make the
	// cashback balance negative.
	ErrInsufficientCashback = errors.New("insufficient cashback")
	// ErrIdempotencyConflict means an idempotency key was reused with another body.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	// ErrRequestInProgress means the first request with an idempotency key is still running.
	ErrRequestInProgress = errors.New("request with this idempotency key in progress")
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Reason is a short stable key of what is wrong ("required", "long",
	// ...), for surfaces that word the message themselves (the pages, in
	// the visitor's language). Empty where no surface needs it.
	Reason string `json:"-"`
}

// ValidationError lists the invalid fields of a request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Add appends a field problem.
func (e *ValidationError) Add(field, msg string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: msg})
}

// AddReason records an invalid field with the stable reason key of what is
// wrong beside its message.
func (e *ValidationError) AddReason(field, reason, msg string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: msg, Reason: reason})
}

// Err returns e when it holds problems and nil otherwise.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Tier is one rung of a program's tier ladder: a member whose qualifying
// points reach Threshold holds the tier.
type Tier struct {
	Name      string `json:"name"`
	Threshold int64  `json:"threshold"`
}

// Rules are the loyalty rules of one program.
type Rules struct {
	// PointsPerUnit is how many points one whole currency unit earns.
	PointsPerUnit int64
	// MinorPerUnit is how many minor units make a whole currency unit (100 for EUR).
	MinorPerUnit int64
	// Tiers are ordered by ascending threshold; the first has threshold 0.
	// A program without tiers has none: members hold the tier "".
	Tiers []Tier
	// Location is the programme's time zone, in which campaign days and
	// hours are read; nil is UTC.
	Location *time.Location
	// Campaigns are the programme's campaigns that may apply to an earn;
	// the store loads those running at the sale's time.
	Campaigns []Campaign
	// StampGoal is the stamps that fill a stamp card; 0 when the
	// programme has no stamps.
	StampGoal int64
	// StampRewardID is the reward a full stamp card issues a voucher of.
	StampRewardID string
	// CashbackRateBP is the basis points of an earn's amount credited as
	// cashback; 0 when the programme has no cashback.
	CashbackRateBP int64
	// Referral is the programme's referral bonus, nil for none.
	Referral *ReferralPoints
	// Expiry makes credited points lots that expire; nil when points
	// never expire.
	Expiry *Expiry
	// TierWindow is how far back qualifying points count: 0 for a
	// lifetime window, RollingTierWindow for rolling_365_days.
	TierWindow time.Duration
}

// Validate reports problems of the rules, naming each field.
func (r Rules) Validate() error {
	v := &ValidationError{}
	if r.PointsPerUnit < 0 || r.PointsPerUnit > MaxPoints {
		v.Add("earn.points_per_unit", "must be between 0 and 1000000000")
	}
	seen := map[string]bool{}
	for i, t := range r.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		if strings.TrimSpace(t.Name) == "" {
			v.Add(f+".name", "is required")
		}
		if seen[t.Name] {
			v.Add(f+".name", "is used twice")
		}
		seen[t.Name] = true
		if i == 0 && t.Threshold != 0 {
			v.Add(f+".threshold", "the first tier must start at 0")
		}
		if i > 0 && t.Threshold <= r.Tiers[i-1].Threshold {
			v.Add(f+".threshold", "thresholds must increase strictly")
		}
	}
	return v.Err()
}

// TierFor answers the tier held with the given qualifying points.
func (r Rules) TierFor(qualifying int64) string {
	i := sort.Search(len(r.Tiers), func(i int) bool { return r.Tiers[i].Threshold > qualifying })
	if i == 0 {
		if len(r.Tiers) == 0 {
			return ""
		}
		return r.Tiers[0].Name
	}
	return r.Tiers[i-1].Name
}

// NextTier answers the next tier above the given qualifying points and how
// many points are missing to reach it; ok is false at the top of the ladder.
func (r Rules) NextTier(qualifying int64) (t Tier, missing int64, ok bool) {
	for _, t := range r.Tiers {
		if t.Threshold > qualifying {
			return t, t.Threshold - qualifying, true
		}
	}
	return Tier{}, 0, false
}

// PointsForAmount converts an amount in minor currency units into points,
// counting whole currency units only (12.99 earns like 12).
func (r Rules) PointsForAmount(minor int64) int64 {
	if minor <= 0 || r.MinorPerUnit <= 0 {
		return 0
	}
	return minor / r.MinorPerUnit * r.PointsPerUnit
}

// Account is a member's materialized ledger state, kept in one row and
// updated in the same transaction as every entry.
type Account struct {
	Points      int64  `json:"points"`
	Lifetime    int64  `json:"lifetime_points"`
	Qualifying  int64  `json:"qualifying_points"`
	Tier        string `json:"tier"`
	PassVersion int64  `json:"pass_version"`
	// Stamps is the stamp card's count, always below the goal.
	Stamps int64 `json:"stamps,omitempty"`
	// Cashback is the cashback balance in minor units, never negative.
	Cashback int64 `json:"cashback,omitempty"`
}

// NewAccount is the account of a member who just enrolled.
func NewAccount(r Rules) Account {
	return Account{Tier: r.TierFor(0), PassVersion: 1}
}

// Request is an entry a client asks to post.
type Request struct {
	Type   EntryType `json:"type"`
	Points int64     `json:"points"`
	// Amount is an earn's purchase amount in minor units, given instead
	// of Points; 0 when not given.
	Amount int64 `json:"amount,omitempty"`
	// Count is a stamp's number of stamps; 0 for other types.
	Count     int64  `json:"count,omitempty"`
	Reference string `json:"reference,omitempty"`
	// OccurredAt is the time of the sale; the store takes its clock's now
	// when zero. Campaigns are chosen by it.
	OccurredAt time.Time `json:"-"`
	// PostedAt is when passd posts the entry (the store's clock): under a
	// rolling tier window, a sale older than the window then does not
	// qualify (Qualifies).
	PostedAt time.Time `json:"-"`
}

// Validate checks the request's fields. The programme's rules are checked
// by Apply (a stamp's count against the goal).
func (q Request) Validate() error {
	v := &ValidationError{}
	switch {
	case (q.Type == Earn || q.Type == CashbackSpend) && q.Amount != 0:
		if q.Points != 0 {
			v.Add("amount", "give either points or amount, not both")
		}
		if q.Amount < 1 || q.Amount > MaxAmount {
			v.Add("amount", "must be an integer from 1 to 1000000000000 (minor units)")
		}
	case q.Amount != 0:
		v.Add("amount", "only an earn or a cashback_spend takes an amount")
	}
	if q.Count != 0 && q.Type != Stamp {
		v.Add("count", "only a stamp takes a count")
	}
	switch q.Type {
	case Earn:
		if q.Amount == 0 && (q.Points < 1 || q.Points > MaxPoints) {
			v.Add("points", "must be an integer from 1 to 1000000000")
		}
	case Redeem:
		if q.Points < 1 || q.Points > MaxPoints {
			v.Add("points", "must be an integer from 1 to 1000000000")
		}
	case Adjust:
		if q.Points == 0 || q.Points > MaxPoints || q.Points < -MaxPoints {
			v.Add("points", "must be a non-zero integer from -1000000000 to 1000000000")
		}
	case Stamp:
		if q.Count < 1 || q.Count > MaxStampCount {
			v.Add("count", "must be an integer from 1 to the programme's stamp goal")
		}
		if q.Points != 0 {
			v.Add("points", "a stamp takes a count, not points")
		}
	case CashbackSpend:
		if q.Amount == 0 {
			v.Add("amount", "must be an integer from 1 to 1000000000000 (minor units)")
		}
		if q.Points != 0 {
			v.Add("points", "a cashback_spend takes an amount, not points")
		}
	case "":
		v.Add("type", "is required (earn, redeem, adjust, stamp or cashback_spend)")
	default:
		v.Add("type", "must be earn, redeem, adjust, stamp or cashback_spend")
	}
	if len(q.Reference) > MaxReferenceLen {
		v.Add("reference", "must be at most 255 bytes")
	} else {
		v.CheckText("reference", q.Reference, false)
	}
	return v.Err()
}

// Delta is the signed change the request makes to the points balance
// (none for stamps and cashback spends).
func (q Request) Delta() int64 {
	switch q.Type {
	case Redeem:
		return -q.Points
	case Stamp, CashbackSpend:
		return 0
	}
	return q.Points
}

// Entry is one append-only ledger line. Points is signed: redemptions and
// negative adjustments are negative, so the entries of a member sum to the
// balance.
type Entry struct {
	ID           string    `json:"id"`
	MemberID     string    `json:"member_id"`
	Type         EntryType `json:"type"`
	Points       int64     `json:"points"`
	BalanceAfter int64     `json:"balance_after"`
	Reference    string    `json:"reference"`
	CreatedAt    time.Time `json:"created_at"`
	// OccurredAt is the time of the sale (CreatedAt when not given).
	OccurredAt time.Time `json:"occurred_at"`
	// Amount, BasePoints, BonusPoints and CampaignID say how an earn's
	// points were reached (Earning); BasePoints + BonusPoints == Points.
	Amount      int64  `json:"amount,omitempty"`
	BasePoints  int64  `json:"base_points"`
	BonusPoints int64  `json:"bonus_points"`
	CampaignID  string `json:"campaign_id,omitempty"`
	// Stamps is a stamp's count; Cashback the signed change to the
	// cashback balance (an earn's credit, a spend's debit).
	Stamps   int64 `json:"stamps,omitempty"`
	Cashback int64 `json:"cashback,omitempty"`
	// Reason says why passd wrote a Bonus entry (ReasonWelcome, ...); ""
	// for other types.
	Reason string `json:"reason,omitempty"`
}

// Outcome is what applying a request to an account yields.
type Outcome struct {
	Account     Account
	Delta       int64
	TierChanged bool
	OldTier     string
	// Earning is how an earn's points were reached (zero for other types).
	Earning Earning
	// Cashback is the signed change to the cashback balance.
	Cashback int64
	// Vouchers is how many stamp cards the entry filled: a voucher of
	// the stamp reward each.
	Vouchers int64
}

// Apply computes the account after the request. It does not mutate a.
// An earn with an amount earns what Rules.Earn answers for q.OccurredAt and
// the member's tier before the entry.
// Earned points and positive adjustments raise lifetime and qualifying
// points (qualifying only when Qualifies under r.TierWindow); negative adjustments (corrections) lower qualifying points but
// never lifetime points; redemptions lower only the balance.
func Apply(a Account, q Request, r Rules) (Outcome, error) {
	if err := q.Validate(); err != nil {
		return Outcome{}, err
	}
	earning, err := r.Earn(q, q.OccurredAt, a.Tier)
	if err != nil {
		return Outcome{}, err
	}
	d := q.Delta()
	if q.Type == Earn {
		d = earning.Base + earning.Bonus
	}
	n := a
	n.Points += d
	if n.Points < 0 {
		return Outcome{}, fmt.Errorf("balance %d, asked %d: %w", a.Points, -d, ErrInsufficientPoints)
	}
	qualifies := Qualifies(q.OccurredAt, q.PostedAt, r.TierWindow)
	switch {
	case q.Type == Earn || (q.Type == Adjust && d > 0):
		n.Lifetime += d
		if qualifies {
			n.Qualifying += d
		}
	case q.Type == Adjust && d < 0:
		n.Qualifying = max(0, n.Qualifying+d)
	}
	var cashback, vouchers int64
	switch {
	case q.Type == Earn && q.Amount != 0:
		cashback = CashbackFor(q.Amount, r.CashbackRateBP)
	case q.Type == CashbackSpend:
		if r.CashbackRateBP == 0 {
			return Outcome{}, typeError("this programme has no cashback")
		}
		cashback = -q.Amount
		if a.Cashback+cashback < 0 {
			return Outcome{}, fmt.Errorf("cashback %d, asked %d: %w", a.Cashback, q.Amount, ErrInsufficientCashback)
		}
	case q.Type == Stamp:
		if r.StampGoal <= 0 {
			return Outcome{}, typeError("this programme has no stamps")
		}
		if q.Count > r.StampGoal {
			v := &ValidationError{}
			v.Add("count", fmt.Sprintf("must be an integer from 1 to the programme's stamp goal (%d)", r.StampGoal))
			return Outcome{}, v
		}
		n.Stamps, vouchers = AddStamps(a.Stamps, q.Count, r.StampGoal)
	}
	n.Cashback += cashback
	n.Tier = r.TierFor(n.Qualifying)
	n.PassVersion++
	return Outcome{Account: n, Delta: d, TierChanged: n.Tier != a.Tier, OldTier: a.Tier, Earning: earning,
		Cashback: cashback, Vouchers: vouchers}, nil
}

func typeError(msg string) error {
	v := &ValidationError{}
	v.Add("type", msg)
	return v
}

// AddStamps adds count stamps to a card holding have, with goal stamps to
// a full card: it answers the count after (always below goal; the stamps
// past a full card carry over) and how many cards were filled. A goal
// below 1 fills nothing and keeps have.
func AddStamps(have, count, goal int64) (after, filled int64) {
	if goal < 1 {
		return have, 0
	}
	total := have + count
	return total % goal, total / goal
}

// CashbackFor is the cashback an amount in minor units earns at rateBP
// basis points, rounded down to a whole minor unit (a till never owes a
// fraction of a cent): floor(amount x rateBP / 10000). Amounts up to
// MaxAmount and rates up to 10000 cannot overflow.
func CashbackFor(amount, rateBP int64) int64 {
	if amount <= 0 || rateBP <= 0 {
		return 0
	}
	return amount * rateBP / 10_000
}
