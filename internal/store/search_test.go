package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// onBothStores runs test in parallel on a fresh SQLite and PostgreSQL
// store.
func onBothStores(t *testing.T, test func(t *testing.T, s *store.Store)) {
	for name, open := range map[string]func(t *testing.T) *store.Store{
		"sqlite":   func(t *testing.T) *store.Store { return testkit.OpenSQLite(t, store.Options{}) },
		"postgres": func(t *testing.T) *store.Store { return openPostgres(t, store.Options{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

// TestSearchPrefixStrategies checks that a prefix search answers the same
// pages whether few members match (the matches are looked up and sorted)
// or many (the newest members are walked), on both stores.
func TestSearchPrefixStrategies(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var all []loyalty.Member
		for i := range 24 {
			num, err := loyalty.NewNumber()
			if err != nil {
				t.Fatal(err)
			}
			m := loyalty.Member{
				ID: uuid.NewString(), Program: "demo", Number: num, AuthToken: "t",
				Name:  []string{"Ada", "ADAM", "Adèle", "Bob", "bea"}[i%5] + fmt.Sprint(" ", i),
				Email: fmt.Sprintf("%s%d@example.com", []string{"x", "ad", "b"}[i%3], i),
				// Pairs share an enrolment time: ties go by id.
				CreatedAt: base.Add(time.Duration(i/2) * time.Minute),
			}
			if err := s.CreateMember(ctx, m, balances.NewAccount(storetest.Rules)); err != nil {
				t.Fatal(err)
			}
			all = append(all, m)
		}
		slices.SortFunc(all, func(a, b loyalty.Member) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, prefix := range []string{"ad", "adè", "b", "x1", all[3].Number[:4], "zz"} {
			var want []string
			for _, m := range all {
				if strings.HasPrefix(strings.ToLower(m.Name), prefix) || strings.HasPrefix(m.Email, prefix) || strings.HasPrefix(m.Number, prefix) {
					want = append(want, m.ID)
				}
			}
			for _, dense := range []int{1, 3, 1000} {
				s.SetDenseMatches(dense)
				var got []string
				cursor := ""
				for range 20 {
					rows, next, err := s.SearchMembers(ctx, loyalty.MemberSearch{Program: "demo", Prefix: prefix, Limit: 4, Cursor: cursor})
					if err != nil {
						t.Fatalf("SearchMembers(%q) = %v", prefix, err)
					}
					for _, r := range rows {
						got = append(got, r.ID)
					}
					if cursor = next; cursor == "" {
						break
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("SearchMembers(%q) pages with dense at %d (-want +got):\n%s", prefix, dense, diff)
				}
			}
		}
	})
}

// TestMigrationLowerCasesNames: rows that migration 10's SQL lower-cased
// ASCII only (as SQLite's lower() does) are lower-cased again by its Go
// step, so a search for "élodie" finds "ÉLODIE".
func TestMigrationLowerCasesNames(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := storetest.NewMember(t, s, "demo")
		if err := s.Exec(ctx, `UPDATE members SET name = 'ÉLODIE Durand', email = 'Élodie@Example.com', name_lc = 'Élodie durand', email_lc = 'Élodie@example.com' WHERE id = $1`, m.ID); err != nil {
			t.Fatal(err)
		}
		find := func(prefix string) int {
			rows, _, err := s.SearchMembers(ctx, loyalty.MemberSearch{Program: "demo", Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		}
		if n := find("élodie"); n != 0 {
			t.Fatalf("before the step: %d found, want the row as the SQL left it (none)", n)
		}
		if err := s.RunMigrationStep(ctx, 10); err != nil {
			t.Fatalf("migration step 10 = %v", err)
		}
		if n := find("élodie d"); n != 1 {
			t.Errorf("search for élodie d after the step = %d, want 1", n)
		}
		if rows, _, err := s.SearchMembers(ctx, loyalty.MemberSearch{Program: "demo", Email: "élodie@example.com"}); err != nil || len(rows) != 1 {
			t.Errorf("email search after the step = %d, %v; want 1", len(rows), err)
		}
	})
}
