package balances

// Bonus is the type of an entry passd writes itself to give points (a
// welcome, referral, birthday or dormant bonus); clients cannot post it. Its Entry.Reason
// says why.
const Bonus EntryType = "bonus"

// Reasons of a Bonus entry.
const (
	ReasonWelcome  = "welcome"
	ReasonReferral = "referral"
	ReasonBirthday = "birthday"
	ReasonDormant  = "dormant"
)

// Credit answers the account after a bonus of points (at least 1): the
// balance, lifetime and qualifying points rise as with an earn, the tier
// follows the qualifying points and the pass version moves on. It does not
// mutate a.
func Credit(a Account, points int64, r Rules) Outcome {
	n := a
	n.Points += points
	n.Lifetime += points
	n.Qualifying += points
	n.Tier = r.TierFor(n.Qualifying)
	n.PassVersion++
	return Outcome{Account: n, Delta: points, TierChanged: n.Tier != a.Tier, OldTier: a.Tier}
}

// ReferralPoints are a programme's referral bonus: what the member who
// referred (Referrer) and the member referred (Referee) get on the
// referee's first earn.
type ReferralPoints struct {
	Referrer, Referee int64
}
