package cards

import (
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

// ExpiringChange is the change message of the expiry reminder's field:
// the reminder itself, so the lock screen says which points expire when.
const ExpiringChange = "%@"

// monthNames are the months ExpiryDate writes for the languages passd
// knows; other languages get an ISO date.
var monthNames = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

// ExpiryDate writes the day of t in lang: "3 December 2027" in English,
// "3 décembre 2027" in French, "2027-12-03" in other languages. The
// caller puts t in the programme's time zone.
func ExpiryDate(t time.Time, lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	months, ok := monthNames[base]
	if !ok {
		return t.Format("2006-01-02")
	}
	return strconv.Itoa(t.Day()) + " " + months[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// ExpiringText is the card's reminder of points that expire, "100 points
// expire on 3 December 2027", in the programme's default language with
// the day in its time zone (a card's texts built by passd are in that
// language, as RewardsReady's); "" when no reminder is due: no points
// expire, or the next lot's reminder has not come yet. Once that lot
// expires or is spent the reminder goes, unless the next is due too.
func ExpiringText(m loyalty.MemberRow, p *loyalty.Program) string {
	x := m.Expiring
	if x == nil || !x.Reminded || x.Points <= 0 || m.Erased() {
		return ""
	}
	lang := p.DefaultLocale
	text := p.Localize(lang, "points_expiring", defaultStrings["points_expiring"])
	return strings.NewReplacer("%d", strconv.FormatInt(x.Points, 10), "%s", ExpiryDate(x.At.In(p.Location()), lang)).Replace(text)
}

// expiringField is the Apple card's front field of the reminder, nil when
// none is due.
func expiringField(m loyalty.MemberRow, p *loyalty.Program) *passkit.Field {
	text := ExpiringText(m, p)
	if text == "" {
		return nil
	}
	return &passkit.Field{Key: "expiring", Label: "expiring_label", Value: passkit.StringValue(text), ChangeMessage: ExpiringChange}
}

// googleExpiring is the Google object's text module of the reminder,
// none when none is due.
func googleExpiring(m loyalty.MemberRow, p *loyalty.Program) []googlewallet.Message {
	text := ExpiringText(m, p)
	if text == "" {
		return nil
	}
	return []googlewallet.Message{{ID: "expiring", Header: p.Localize(p.DefaultLocale, "expiring_label", "Points expiring"), Body: text}}
}
