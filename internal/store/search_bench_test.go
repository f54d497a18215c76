package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

// searchMembers is the size of the program BenchmarkSearchMembers searches.
const searchMembers = 100_000

var (
	firstNames = strings.Fields("Ada Grace Alan Marie Maria Mario Jean Jeanne Louis Louise Paul Pauline Anna Hanna Lea Leo Noah Emma Lucas Chloe Hugo Ines Jules Manon Tom Sarah Nathan Camille Adam Eva")
	lastNames  = strings.Fields("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard Andre Mercier Dupont Lambert Bonnet Francois Martinez Lovelace")
)

// benchStores open a fresh store of each kind for a benchmark.
var benchStores = storesWith(0)

// seedProgram stores n members of program "bench": enrolled over two
// years, last active within a year, 70% Bronze, 25% Silver, 5% Gold. It
// answers them and their accounts.
func seedProgram(b *testing.B, s *store.Store, n int) ([]loyalty.Member, []store.Account) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	ms := make([]loyalty.Member, n)
	as := make([]store.Account, n)
	last := make([]time.Time, n)
	for i := range ms {
		first, family := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		num := fmt.Sprintf("%09d", 100_000_000+i*7919%900_000_000)
		ms[i] = loyalty.Member{
			ID: uuid.NewString(), Program: "bench", Number: num + "0",
			Name: first + " " + family, Email: strings.ToLower(first+"."+family) + fmt.Sprint(i) + "@example.com",
			ExternalID: fmt.Sprintf("crm-%d", i), AuthToken: "token-" + fmt.Sprint(i),
			CreatedAt: now.Add(-time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour)))),
		}
		as[i] = balances.NewAccount(storetest.Rules)
		switch p := r.IntN(100); {
		case p < 5:
			as[i].Tier = "Gold"
		case p < 30:
			as[i].Tier = "Silver"
		}
		last[i] = now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	}
	if err := s.SeedMembers(context.Background(), ms, as, last); err != nil {
		b.Fatal(err)
	}
	return ms, as
}

// BenchmarkSearchMembers times Store.SearchMembers, the first page of 50,
// over a program of 100,000 members on each store, for each kind of
// filter the API takes.
func BenchmarkSearchMembers(b *testing.B) {
	for _, o := range benchStores {
		b.Run("store="+o.name, func(b *testing.B) {
			s := o.open(b)
			ms, _ := seedProgram(b, s, searchMembers)
			m := ms[len(ms)/2]
			now := time.Now()
			for _, q := range []struct {
				name string
				q    loyalty.MemberSearch
			}{
				{"all", loyalty.MemberSearch{}},
				{"q=2-letters", loyalty.MemberSearch{Prefix: "ma"}},
				{"q=name", loyalty.MemberSearch{Prefix: "maria garc"}},
				{"q=email", loyalty.MemberSearch{Prefix: strings.ToLower(m.Email[:12])}},
				{"q=number", loyalty.MemberSearch{Prefix: m.Number[:6]}},
				{"email", loyalty.MemberSearch{Email: m.Email}},
				{"external_id", loyalty.MemberSearch{ExternalID: m.ExternalID}},
				{"tier=Gold", loyalty.MemberSearch{Tier: "Gold"}},
				{"inactive_days=300", loyalty.MemberSearch{InactiveSince: now.AddDate(0, 0, -300)}},
				{"tier=Gold&inactive_days=360", loyalty.MemberSearch{Tier: "Gold", InactiveSince: now.AddDate(0, 0, -360)}},
			} {
				q.q.Program, q.q.Limit = "bench", 50
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						if _, _, err := s.SearchMembers(context.Background(), q.q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkPostTierMessage times Store.PostTierMessage to the Silver tier
// (a quarter) of a program of 100,000 members on each store, while a till
// earns points for Bronze members one after the other: till-max-ms and
// till-p99-ms are how long its earns took meanwhile, which is how long a
// tier message, written at most DefaultMessageBatch members per
// transaction, holds the tills up.
func BenchmarkPostTierMessage(b *testing.B) {
	for _, o := range benchStores {
		b.Run("store="+o.name, func(b *testing.B) {
			s := o.open(b)
			ms, as := seedProgram(b, s, searchMembers)
			var bronze []string
			for i, m := range ms {
				if as[i].Tier == "Bronze" {
					bronze = append(bronze, m.ID)
				}
			}
			ctx, stop := context.WithCancel(context.Background())
			tills := make(chan []time.Duration)
			go func() {
				var took []time.Duration
				for i := 0; ctx.Err() == nil; i++ {
					key := fmt.Sprint("till-", i)
					t := time.Now()
					if _, err := s.Post(ctx, bronze[i%len(bronze)], key, key, balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil && ctx.Err() == nil {
						b.Error(err)
						break
					}
					took = append(took, time.Since(t))
				}
				tills <- took
			}()
			var cards int64
			for b.Loop() {
				n, err := s.PostTierMessage(context.Background(), "bench", "Silver", "Silver night on Friday")
				if err != nil {
					b.Fatal(err)
				}
				cards = n
			}
			stop()
			took := <-tills
			slices.Sort(took)
			b.ReportMetric(float64(cards), "cards")
			if len(took) > 0 {
				b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "till-max-ms")
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "till-p99-ms")
			}
		})
	}
}
