package loyalty

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/passd/passd/balances"
)

func TestCampaignInputValidate(t *testing.T) {
	t.Parallel()
	p := &Program{ID: "demo", Tiers: []Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 100}}}
	ok := CampaignInput{Name: " Happy hour ", Multiplier: "1.5", StartsAt: "2026-03-01T00:00:00+01:00", EndsAt: "2026-04-01T00:00:00Z",
		DaysOfWeek: []int{5, 1, 5}, LocalHours: "17:00-19:30", MinTier: "Silver"}
	c, err := ok.Validate(p)
	if err != nil {
		t.Fatalf("Validate(ok) = %v", err)
	}
	want := Campaign{Program: "demo", Name: "Happy hour", MultiplierTenths: 15,
		StartsAt: time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		DaysOfWeek: []int{1, 5}, FromMinute: 17 * 60, ToMinute: 19*60 + 30, MinTier: "Silver"}
	if !c.StartsAt.Equal(want.StartsAt) || c.StartsAt.Location() != time.UTC || c.MultiplierTenths != 15 || c.Name != want.Name ||
		!slices.Equal(c.DaysOfWeek, want.DaysOfWeek) || c.FromMinute != want.FromMinute || c.ToMinute != want.ToMinute || c.LocalHours() != "17:00-19:30" {
		t.Errorf("Validate(ok) = %+v, want %+v", c, want)
	}
	for name, tc := range map[string]struct {
		edit   func(*CampaignInput)
		fields []string
	}{
		"x1.0":          {func(in *CampaignInput) { in.Multiplier = "1.0" }, []string{"multiplier"}},
		"x10.1":         {func(in *CampaignInput) { in.Multiplier = "10.1" }, []string{"multiplier"}},
		"x1.55":         {func(in *CampaignInput) { in.Multiplier = "1.55" }, []string{"multiplier"}},
		"no multiplier": {func(in *CampaignInput) { in.Multiplier = "" }, []string{"multiplier"}},
		"equal ends":    {func(in *CampaignInput) { in.EndsAt = in.StartsAt }, []string{"ends_at"}},
		"no times":      {func(in *CampaignInput) { in.StartsAt, in.EndsAt = "", "" }, []string{"starts_at", "ends_at"}},
		"day 0":         {func(in *CampaignInput) { in.DaysOfWeek = []int{0} }, []string{"days_of_week"}},
		"overnight":     {func(in *CampaignInput) { in.LocalHours = "22:00-02:00" }, []string{"local_hours"}},
		"24:30":         {func(in *CampaignInput) { in.LocalHours = "23:00-24:30" }, []string{"local_hours"}},
		"one digit":     {func(in *CampaignInput) { in.LocalHours = "9:00-17:00" }, []string{"local_hours"}},
		"unknown tier":  {func(in *CampaignInput) { in.MinTier = "Gold" }, []string{"min_tier"}},
		"long name":     {func(in *CampaignInput) { in.Name = string(make([]byte, 201)) + "x" }, []string{"name"}},
	} {
		in := ok
		tc.edit(&in)
		_, err := in.Validate(p)
		var ve *balances.ValidationError
		var got []string
		if errors.As(err, &ve) {
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
		}
		if !slices.Equal(got, tc.fields) {
			t.Errorf("%s: Validate = %v, want problems with %v", name, err, tc.fields)
		}
	}
	whole := ok
	whole.Multiplier, whole.LocalHours = json.Number("10"), "00:00-24:00"
	if c, err := whole.Validate(p); err != nil || c.MultiplierTenths != 100 || c.ToMinute != 1440 {
		t.Errorf("Validate(x10, all day) = %+v, %v", c, err)
	}
}

func TestCampaignEnd(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	running := Campaign{StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}
	if got := running.End(now); !got.EndsAt.Equal(now) {
		t.Errorf("End(running) ends at %v, want %v", got.EndsAt, now)
	}
	future := Campaign{StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour)}
	if got := future.End(now); !got.EndsAt.Equal(future.StartsAt) {
		t.Errorf("End(future) ends at %v, want its start %v (never runs)", got.EndsAt, future.StartsAt)
	}
	past := Campaign{StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Hour)}
	if got := past.End(now); !got.EndsAt.Equal(past.EndsAt) {
		t.Errorf("End(ended) ends at %v, want unchanged %v", got.EndsAt, past.EndsAt)
	}
}

// Campaign days and hours are read in the programme's zone: its rules carry it.
func TestRulesLocation(t *testing.T) {
	t.Parallel()
	p := &Program{Timezone: "Europe/Paris"}
	if got := p.Rules().Location; got == nil || got.String() != "Europe/Paris" {
		t.Errorf("Rules().Location = %v, want Europe/Paris", got)
	}
	if got := (&Program{}).Rules().Location; got == nil || got.String() != "UTC" {
		t.Errorf("Rules().Location without a timezone = %v, want UTC", got)
	}
}
