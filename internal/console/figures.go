package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// StuckAfter is how long a card may wait for delivery before the
// dashboard warns about it.
const StuckAfter = 10 * time.Minute

// figuresView is a programme's dashboard.
type figuresView struct {
	Stats    loyalty.ProgramStats
	RatePct  string
	From, To string
	Chart    chart
	Health   []healthRow
	// Webhooks are the warnings about the programme's webhook endpoints.
	Webhooks []string
	// Failure is the window's problem, in plain words.
	Failure string
}

// healthRow is one channel's sync health with the warnings it calls for.
type healthRow struct {
	store.SyncHealth
	Name     string
	Oldest   string
	Stuck    bool
	Warnings []string
}

// chart is the enrolments per day as SVG bars drawn on the server.
type chart struct {
	Width, Height, Base int
	Max                 int64
	Bars                []bar
	Ticks               []tick
}

type bar struct {
	X, Y, W, H int
	Date       string
	Count      int64
}

type tick struct {
	X      int
	Label  string
	Anchor string // SVG text-anchor: the first and last stay inside
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	chartHeight = 200
	chartBase   = 180
	chartTop    = 20
)

// enrolmentChart draws days as bars scaled to the busiest one, with a
// date under the first, the last and about every week.
func enrolmentChart(days []loyalty.DayCount) chart {
	c := chart{Width: chartWidth, Height: chartHeight, Base: chartBase}
	if len(days) == 0 {
		return c
	}
	for _, d := range days {
		c.Max = max(c.Max, d.Count)
	}
	slot := chartWidth / len(days)
	w := max(1, slot*3/4)
	every := max(1, len(days)/5)
	for i, d := range days {
		h := 0
		if c.Max > 0 {
			h = int(d.Count * (chartBase - chartTop) / c.Max)
		}
		if d.Count > 0 {
			h = max(h, 1)
		}
		x := i * slot
		c.Bars = append(c.Bars, bar{X: x, Y: chartBase - h, W: w, H: h, Date: d.Date, Count: d.Count})
		switch {
		case i == 0:
			c.Ticks = append(c.Ticks, tick{X: x, Label: d.Date[5:], Anchor: "start"})
		case i == len(days)-1:
			c.Ticks = append(c.Ticks, tick{X: x + w, Label: d.Date[5:], Anchor: "end"})
		case i%every == 0 && len(days)-1-i >= every/2:
			c.Ticks = append(c.Ticks, tick{X: x + w/2, Label: d.Date[5:], Anchor: "middle"})
		}
	}
	return c
}

func (s *Server) figuresPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "figures_title")
	if !ok {
		return
	}
	v, err := s.figures(w, r, a.pg, a.program, r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		s.internalError(w, r, "read programme figures", err)
		return
	}
	if n, err := strconv.ParseInt(r.URL.Query().Get("saved"), 10, 64); err == nil {
		a.pg.Done = fmt.Sprintf(a.pg.T.Get("done_program_saved"), n)
	}
	a.pg.View = v
	s.render(w, r, "figures", http.StatusOK, a.pg)
}

// figures reads programme p's figures over the window from..to (a bad
// window shows its problem and the default one), its sync health and its
// webhook health.
func (s *Server) figures(w http.ResponseWriter, r *http.Request, pg *page, p *loyalty.Program, from, to string) (*figuresView, error) {
	v := &figuresView{From: from, To: to}
	now := s.Now()
	win, err := loyalty.StatsInput{From: from, To: to}.Window(p, now)
	if err != nil {
		v.Failure = s.failure(w, r, pg, "figures window", err)
		if win, err = (loyalty.StatsInput{}).Window(p, now); err != nil {
			return nil, err
		}
	}
	f, err := s.Store.ProgramFigures(r.Context(), p.ID, win)
	if err != nil {
		return nil, err
	}
	v.Stats = win.Stats(f)
	v.RatePct = strconv.FormatFloat(v.Stats.RedemptionRate*100, 'f', 1, 64) + " %"
	if v.From == "" || v.Failure != "" {
		v.From = win.From.Format(time.DateOnly)
	}
	if v.To == "" || v.Failure != "" {
		v.To = win.To.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	v.Chart = enrolmentChart(v.Stats.EnrolmentsByDay)
	if v.Health, err = s.health(r.Context(), pg, p.ID); err != nil {
		return nil, err
	}
	if v.Webhooks, err = s.webhookHealth(r.Context(), pg, p.ID); err != nil {
		return nil, err
	}
	return v, nil
}

// health answers the programme's sync health, with what to do about
// cards that wait too long or were given up.
func (s *Server) health(ctx context.Context, pg *page, program string) ([]healthRow, error) {
	hs, err := s.Store.ProgramSyncHealth(ctx, program)
	if err != nil {
		return nil, err
	}
	out := make([]healthRow, 0, len(hs))
	for _, h := range hs {
		row := healthRow{SyncHealth: h, Name: pg.T.Get("wallet_" + h.Channel), Oldest: h.Oldest.Round(time.Second).String()}
		if h.Waiting > 0 && h.Oldest > StuckAfter {
			row.Stuck = true
			row.Warnings = append(row.Warnings, fmt.Sprintf(pg.T.Get("warn_stuck"), h.Waiting, row.Name, row.Oldest))
		}
		if h.Errored > 0 {
			row.Warnings = append(row.Warnings, fmt.Sprintf(pg.T.Get("warn_errored"), h.Errored, row.Name))
		}
		out = append(out, row)
	}
	return out, nil
}

// soleProgramFigures puts the figures of the dashboard's programme on it
// when the user sees exactly one (a merchant's).
func (s *Server) soleProgramFigures(w http.ResponseWriter, r *http.Request, pg *page) error {
	if len(pg.Programs) != 1 {
		return nil
	}
	p, err := s.Programs.Fresh(r.Context(), pg.Programs[0].ID, 0)
	if err != nil {
		return err
	}
	v, err := s.figures(w, r, pg, p, "", "")
	if err != nil {
		return err
	}
	pg.Program, pg.View = &programRef{ID: p.ID, Name: pg.Programs[0].Name}, v
	return nil
}
