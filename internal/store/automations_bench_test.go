package store_test

import (
	"strconv"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/store/storetest"
)

// BenchmarkPostEarnTierWindow measures earns under a rolling 365-day tier
// window (each earn also brings the account's tier review forward, and
// clears a dormant spell as every Post does) beside the same earns under a
// lifetime window, on the same store in the same run: the rolling rate
// over the lifetime rate is the window's cost on the hot path.
func BenchmarkPostEarnTierWindow(b *testing.B) {
	rolling := storetest.Rules
	rolling.TierWindow = balances.RollingTierWindow
	for _, o := range ledgerStores() {
		b.Run(o.name, func(b *testing.B) {
			s := o.open(b)
			members := benchMembers(b, s)
			for _, window := range []struct {
				name  string
				rules balances.Rules
			}{{"lifetime", storetest.Rules}, {"rolling", rolling}} {
				for _, clients := range []int{1, 16} {
					b.Run(window.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) {
						benchPostRules(b, s, members, clients, balances.Request{Type: balances.Earn, Points: 10}, window.rules)
					})
				}
			}
		})
	}
}
