package cards

import (
	"strconv"
	"strings"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

// Change messages of the stamp and cashback fields.
const (
	StampsChange   = "Stamps: %@"
	CashbackChange = "Cashback: %@"
)

// StampsText is a stamp card's front text, "7 / 10"; on Apple's card the
// strip behind it shows the same count as filled stamps (StampStrip).
func StampsText(count int64, goal int) string {
	return strconv.FormatInt(count, 10) + " / " + strconv.Itoa(goal)
}

// currencySymbols are the symbols FormatMoney writes; other currencies
// show their ISO code.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF", "CAD": "CA$"}

// FormatMoney formats minor units of currency (minorPerUnit of them to a
// whole unit, so log10(minorPerUnit) decimals) for lang, simply: French
// puts the symbol after with a comma ("12,50 €"), every other language
// before with a point ("€12.50"). No grouping of thousands: golang.org/x/text
// is not a dependency, and a cashback balance is small. A minorPerUnit that
// is not a power of ten shows whole units and the remainder as decimals of
// its own width.
func FormatMoney(minor, minorPerUnit int64, currency, lang string) string {
	if minorPerUnit < 1 {
		minorPerUnit = 1
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	digits := len(strconv.FormatInt(minorPerUnit-1, 10))
	if minorPerUnit == 1 {
		digits = 0
	}
	fr := lang == "fr" || strings.HasPrefix(lang, "fr-")
	num := strconv.FormatInt(minor/minorPerUnit, 10)
	if digits > 0 {
		frac := strconv.FormatInt(minor%minorPerUnit, 10)
		frac = strings.Repeat("0", digits-len(frac)) + frac
		sep := "."
		if fr {
			sep = ","
		}
		num += sep + frac
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		sym = currency
	}
	if fr {
		return sign + num + "\u00a0" + sym
	}
	if len(sym) == 3 && sym == currency {
		return sign + sym + "\u00a0" + num
	}
	return sign + sym + num
}

// balanceFields adds a stamp programme's stamps as the primary field (the
// points then move to the secondary fields) and a cashback programme's
// balance as a secondary field. The cashback is a number with Apple's
// currencyCode, which Wallet formats in the phone's own locale and
// currency style, better than passd could.
func balanceFields(sc *passkit.Fields, p *loyalty.Program, m loyalty.MemberRow) {
	if p.Stamps != nil {
		points := sc.PrimaryFields
		sc.PrimaryFields = []passkit.Field{{Key: "stamps", Label: "stamps_label",
			Value: passkit.StringValue(StampsText(m.Account.Stamps, p.Stamps.Goal)), ChangeMessage: StampsChange}}
		sc.SecondaryFields = append(points, sc.SecondaryFields...)
	}
	if p.Cashback != nil {
		sc.SecondaryFields = append(sc.SecondaryFields, passkit.Field{Key: "cashback", Label: "cashback_label",
			Value:        passkit.FloatValue(float64(m.Account.Cashback) / float64(max(p.Earn.MinorPerUnit, 1))),
			CurrencyCode: p.Currency, ChangeMessage: CashbackChange})
	}
}

// GoogleBalances are the text modules of a stamp card ("Stamps", "7 /
// 10") and a cashback balance ("Cashback", "€12.50", formatted by
// FormatMoney in the programme's default language, as Google shows a
// module's text as given); none for other programmes or erased members.
func GoogleBalances(m loyalty.MemberRow, p *loyalty.Program) []googlewallet.Message {
	if m.Erased() {
		return nil
	}
	lang := p.DefaultLocale
	var out []googlewallet.Message
	if p.Stamps != nil {
		out = append(out, googlewallet.Message{ID: "stamps", Header: p.Localize(lang, "stamps_label", "Stamps"),
			Body: StampsText(m.Account.Stamps, p.Stamps.Goal)})
	}
	if p.Cashback != nil {
		out = append(out, googlewallet.Message{ID: "cashback", Header: p.Localize(lang, "cashback_label", "Cashback"),
			Body: FormatMoney(m.Account.Cashback, p.Earn.MinorPerUnit, p.Currency, lang)})
	}
	return out
}
