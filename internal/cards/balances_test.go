package cards

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		minor, minorPerUnit int64
		currency, lang      string
		want                string
	}{
		{"euros in English", 1250, 100, "EUR", "en", "€12.50"},
		{"euros in French", 1250, 100, "EUR", "fr", "12,50\u00a0€"},
		{"a French region", 5, 100, "EUR", "fr-ca", "0,05\u00a0€"},
		{"pounds", 100_000, 100, "GBP", "en", "£1000.00"},
		{"yen have no minor digits", 500, 1, "JPY", "en", "¥500"},
		{"three minor digits", 12_345, 1000, "KWD", "en", "KWD\u00a012.345"},
		{"a code without a symbol in French", 99, 100, "SEK", "fr", "0,99\u00a0SEK"},
		{"zero", 0, 100, "USD", "en", "$0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatMoney(tt.minor, tt.minorPerUnit, tt.currency, tt.lang); got != tt.want {
				t.Errorf("FormatMoney(%d, %d, %s, %s) = %q, want %q", tt.minor, tt.minorPerUnit, tt.currency, tt.lang, got, tt.want)
			}
		})
	}
}

// balanceProgram is the demo programme with a stamp card of goal 10 and
// 5 % cashback.
func balanceProgram(t *testing.T) *loyalty.Program {
	t.Helper()
	p := demo(t) // loaded afresh for each test
	p.Stamps = &loyalty.Stamps{Goal: 10, RewardID: "coffee"}
	p.Cashback = &loyalty.Cashback{RateBP: 500}
	return p
}

func TestStampsAndCashbackOnTheCard(t *testing.T) {
	t.Parallel()
	p := balanceProgram(t)
	m := ada()
	m.Account.Stamps, m.Account.Cashback = 7, 1250
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	sc := Pass(card(m, p, now), secret, "https://passd.example", "pass.test", "TEAM").StoreCard
	if len(sc.PrimaryFields) != 1 || sc.PrimaryFields[0].Key != "stamps" || sc.PrimaryFields[0].Value.String() != "7 / 10" {
		t.Errorf("primary fields = %+v, want the stamps \"7 / 10\"", sc.PrimaryFields)
	}
	keys := make([]string, len(sc.SecondaryFields))
	var cashback passkit.Field
	for i, f := range sc.SecondaryFields {
		keys[i] = f.Key
		if f.Key == "cashback" {
			cashback = f
		}
	}
	if strings.Join(keys, ",") != "points,name,cashback" {
		t.Errorf("secondary fields = %v, want points, name, cashback", keys)
	}
	b, err := json.Marshal(cashback)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":12.5`) || !strings.Contains(string(b), `"currencyCode":"`+p.Currency+`"`) {
		t.Errorf("cashback field = %s, want value 12.5 with the programme's currencyCode", b)
	}

	// The demo programme, without stamps or cashback, keeps its points first.
	plain := Pass(card(ada(), demo(t), now), secret, "https://passd.example", "pass.test", "TEAM").StoreCard
	if plain.PrimaryFields[0].Key != "points" || len(plain.SecondaryFields) != 1 {
		t.Errorf("plain card fields = %+v / %+v, want points first and the name alone", plain.PrimaryFields, plain.SecondaryFields)
	}

	mods := GoogleBalances(m, p)
	if len(mods) != 2 || mods[0].Body != "7 / 10" || mods[1].Body != FormatMoney(1250, p.Earn.MinorPerUnit, p.Currency, p.DefaultLocale) {
		t.Errorf("GoogleBalances = %+v, want the stamps \"7 / 10\" and the cashback formatted", mods)
	}
	if got := GoogleBalances(ada(), demo(t)); len(got) != 0 {
		t.Errorf("GoogleBalances(demo) = %+v, want none", got)
	}
}
