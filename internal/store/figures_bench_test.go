package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
)

// figuresMembers and figuresEntries size BenchmarkProgramStats: 100,000
// members with 10 entries each, 1,000,000 ledger entries.
const (
	figuresMembers = 100_000
	figuresEntries = 10
	figuresWaiting = 15_000
)

// BenchmarkProgramStats times a programme's figures (GET .../stats: the
// sums of the folded figures and of the deltas still waiting) at
// 1,000,000 ledger entries, beside the reference it replaces: one SQL sum
// of the programme's ledger (points issued, a join of entries and
// members). The goal is under 50 ms per figures read; the ratio of the
// two is the gain. Both read the default 30-day window's bounds.
func BenchmarkProgramStats(b *testing.B) {
	for _, o := range benchStores {
		b.Run("store="+o.name, func(b *testing.B) {
			ctx := context.Background()
			s := o.open(b)
			seedProgram(b, s, figuresMembers)
			if err := s.SeedEntries(ctx, "bench", figuresEntries); err != nil {
				b.Fatal(err)
			}
			// The figures job runs every few seconds in passd.
			for {
				n, err := s.FoldFigures(ctx, 50_000)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			if err := s.VacuumFigureDeltas(ctx); err != nil {
				b.Fatal(err)
			}
			p := &loyalty.Program{}
			p.ID = "bench"
			w, err := loyalty.StatsInput{}.Window(p, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.Run("read=figures", func(b *testing.B) {
				for b.Loop() {
					f, err := s.ProgramFigures(ctx, "bench", w)
					if err != nil {
						b.Fatal(err)
					}
					if f.Members != figuresMembers {
						b.Fatalf("figures = %+v, want %d members", f, figuresMembers)
					}
				}
			})
			// 15 seconds of 1,000 earns a second in another programme,
			// not folded yet: a read sums the waiting deltas too.
			for range figuresWaiting / figuresEntries {
				storetest.NewMember(b, s, "busy")
			}
			if err := s.SeedEntries(ctx, "busy", figuresEntries); err != nil {
				b.Fatal(err)
			}
			b.Run("read=figures-15k-waiting", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.ProgramFigures(ctx, "bench", w); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("read=ledger-scan", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.LedgerIssued(ctx, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
