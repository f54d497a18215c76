package loyalty

import (
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

// Limits of a reward.
const (
	MaxRewardNameRunes        = 200
	MaxRewardDescriptionRunes = 1000
	MaxValidDays              = 3650
	DefaultValidDays          = 30
)

// Voucher states.
const (
	VoucherUnused = "unused"
	VoucherUsed   = "used"
)

// Sentinel errors of rewards and vouchers.
var (
	// ErrTierRequired means the member's tier is below the reward's
	// min_tier; nothing was written.
	ErrTierRequired = errors.New("tier required")
	// ErrRewardUnavailable means the reward is inactive; nothing was
	// written.
	ErrRewardUnavailable = errors.New("reward unavailable")
	// ErrVoucherUsed means the voucher was used already (with another
	// Idempotency-Key).
	ErrVoucherUsed = errors.New("voucher used")
	// ErrVoucherExpired means the voucher is past its expires_at.
	ErrVoucherExpired = errors.New("voucher expired")
)

// Reward is an item of a programme's catalogue that members buy with
// points; buying one issues a Voucher.
type Reward struct {
	ID          string
	Program     string
	Name        string
	Description string
	CostPoints  int64
	MinTier     string // "" for every tier
	ValidDays   int
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RewardInput is a reward as a surface received it, for a creation (every
// nil field takes its default) or a merge patch (a nil field stays).
type RewardInput struct {
	Name        *string
	Description *string
	CostPoints  *int64
	MinTier     *string
	ValidDays   *int
	Active      *bool
}

// NewReward builds the reward in creates in program p and validates it;
// the caller sets ID and the times.
func NewReward(p *Program, in RewardInput) (Reward, error) {
	r := Reward{Program: p.ID, ValidDays: DefaultValidDays, Active: true}
	v := &balances.ValidationError{}
	if in.Name == nil {
		v.AddReason("name", ReasonRequired, "is required")
	}
	if in.CostPoints == nil {
		v.AddReason("cost_points", ReasonRequired, "is required")
	}
	r = in.apply(r)
	r.validate(p, v, in.Name != nil, in.CostPoints != nil)
	return r, v.Err()
}

// Patch answers r changed by the fields in sets, validated as a whole in
// program p.
func (r Reward) Patch(p *Program, in RewardInput) (Reward, error) {
	v := &balances.ValidationError{}
	out := in.apply(r)
	out.validate(p, v, true, true)
	return out, v.Err()
}

func (in RewardInput) apply(r Reward) Reward {
	if in.Name != nil {
		r.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		r.Description = strings.TrimSpace(*in.Description)
	}
	if in.CostPoints != nil {
		r.CostPoints = *in.CostPoints
	}
	if in.MinTier != nil {
		r.MinTier = *in.MinTier
	}
	if in.ValidDays != nil {
		r.ValidDays = *in.ValidDays
	}
	if in.Active != nil {
		r.Active = *in.Active
	}
	return r
}

func (r Reward) validate(p *Program, v *balances.ValidationError, checkName, checkCost bool) {
	if checkName {
		if n := utf8.RuneCountInString(r.Name); n < 1 || n > MaxRewardNameRunes {
			v.AddReason("name", ReasonRange, "must be 1 to "+strconv.Itoa(MaxRewardNameRunes)+" printable characters")
		} else if v.CheckText("name", r.Name, false) && !printable(r.Name) {
			v.AddReason("name", ReasonRange, "must be 1 to "+strconv.Itoa(MaxRewardNameRunes)+" printable characters")
		}
	}
	if utf8.RuneCountInString(r.Description) > MaxRewardDescriptionRunes {
		v.AddReason("description", ReasonRange, "must be at most "+strconv.Itoa(MaxRewardDescriptionRunes)+" printable characters")
	} else if v.CheckText("description", r.Description, true) && !printable(strings.NewReplacer("\n", "", "\r", "").Replace(r.Description)) {
		v.AddReason("description", ReasonRange, "must be at most "+strconv.Itoa(MaxRewardDescriptionRunes)+" printable characters")
	}
	if checkCost && (r.CostPoints < 1 || r.CostPoints > balances.MaxPoints) {
		v.AddReason("cost_points", ReasonRange, "must be an integer from 1 to 1000000000")
	}
	if r.ValidDays < 1 || r.ValidDays > MaxValidDays {
		v.AddReason("valid_days", ReasonRange, "must be an integer from 1 to "+strconv.Itoa(MaxValidDays))
	}
	if r.MinTier != "" && !p.HasTier(r.MinTier) {
		v.AddReason("min_tier", ReasonInvalid, "is not a tier of the program")
	}
}

func printable(s string) bool {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// CanRedeem reports why a member of tier may not buy r in program p
// (ErrRewardUnavailable, ErrTierRequired), or nil. Points are checked by
// the ledger, under the member's lock.
func (r Reward) CanRedeem(p *Program, tier string) error {
	if !r.Active || r.Program != p.ID {
		return ErrRewardUnavailable
	}
	if r.MinTier == "" {
		return nil
	}
	rank := func(name string) int {
		for i, t := range p.Tiers {
			if t.Name == name {
				return i
			}
		}
		return -1
	}
	need := rank(r.MinTier)
	if need < 0 {
		// A tier the programme no longer has asks for nothing.
		return nil
	}
	if rank(tier) < need {
		return ErrTierRequired
	}
	return nil
}

// Voucher is a reward a member bought, to be used once before ExpiresAt.
type Voucher struct {
	Code      string
	MemberID  string
	Program   string
	RewardID  string
	EntryID   string // the redeem entry that paid for it
	Status    string // VoucherUnused or VoucherUsed
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OpenVoucher is an unused voucher as a member read carries it, for the
// card: its code, its reward's name and when it expires.
type OpenVoucher struct {
	Code      string    `json:"code"`
	Reward    string    `json:"reward"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ShownVouchers answers the vouchers of vs a card shows at now: those not
// yet expired, in their order.
func ShownVouchers(vs []OpenVoucher, now time.Time) []OpenVoucher {
	var out []OpenVoucher
	for _, v := range vs {
		if now.Before(v.ExpiresAt) {
			out = append(out, v)
		}
	}
	return out
}

// VoucherExpiry is when a voucher issued at now for r expires: valid_days
// days later.
func VoucherExpiry(r Reward, now time.Time) time.Time {
	return now.Add(time.Duration(r.ValidDays) * 24 * time.Hour).UTC().Truncate(time.Second)
}

// voucherAlphabet is Crockford's base32: no 0/O, 1/I/L or U to confuse.
// (Crockford keeps 0 and 1 and drops I, L, O, U; passd drops 0 and 1 as
// well so that no character of a code can be misread.)
const voucherAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// VoucherCodeLen is the length of a voucher code: 30^10, about 2^49.
const VoucherCodeLen = 10

// NewVoucherCode draws a random voucher code.
func NewVoucherCode() (string, error) {
	out := make([]byte, 0, VoucherCodeLen)
	b := make([]byte, 2*VoucherCodeLen)
	for len(out) < VoucherCodeLen {
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		for _, x := range b {
			// 240 is the largest multiple of 30 under 256: bytes above
			// it are dropped so every character is equally likely.
			if x < 240 && len(out) < VoucherCodeLen {
				out = append(out, voucherAlphabet[int(x)%len(voucherAlphabet)])
			}
		}
	}
	return string(out), nil
}

// NormalizeVoucherCode answers a typed code in its stored form (upper
// case, no spaces or dashes), and whether it can be a code at all.
func NormalizeVoucherCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
	if len(s) != VoucherCodeLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(voucherAlphabet, rune(s[i])) {
			return "", false
		}
	}
	return s, true
}

// Voucher status of an unused voucher past its expires_at, as the API
// shows it (the store keeps it unused).
const VoucherExpired = "expired"

// StatusAt is v's status as shown at now: VoucherExpired for an unused
// voucher past expires_at, else its stored status.
func (v Voucher) StatusAt(now time.Time) string {
	if v.Status == VoucherUnused && !now.Before(v.ExpiresAt) {
		return VoucherExpired
	}
	return v.Status
}

// CanUse reports why v cannot be used at now (ErrVoucherUsed,
// ErrVoucherExpired), or nil.
func (v Voucher) CanUse(now time.Time) error {
	if v.Status == VoucherUsed {
		return ErrVoucherUsed
	}
	if !now.Before(v.ExpiresAt) {
		return ErrVoucherExpired
	}
	return nil
}
