package console

import (
	"testing"

	"github.com/passd/passd/internal/loyalty"
)

// TestEnrolmentChart: bars scale to the busiest day, a day with any
// enrolment is visible, and the first and last dates are labelled inside
// the chart.
func TestEnrolmentChart(t *testing.T) {
	t.Parallel()
	days := []loyalty.DayCount{{Date: "2030-01-01", Count: 0}, {Date: "2030-01-02", Count: 1}, {Date: "2030-01-03", Count: 500}, {Date: "2030-01-04", Count: 250}}
	c := enrolmentChart(days)
	if c.Max != 500 || len(c.Bars) != 4 {
		t.Fatalf("enrolmentChart = max %d, %d bars", c.Max, len(c.Bars))
	}
	full := chartBase - chartTop
	for i, want := range []int{0, 1, full, full / 2} {
		if b := c.Bars[i]; b.H != want || b.Y != chartBase-want || b.X+b.W > chartWidth {
			t.Errorf("bar %d = %+v, want height %d inside the chart", i, b, want)
		}
	}
	if first, last := c.Ticks[0], c.Ticks[len(c.Ticks)-1]; first.Anchor != "start" || first.Label != "01-01" || last.Anchor != "end" || last.Label != "01-04" || last.X > chartWidth {
		t.Errorf("ticks = %+v", c.Ticks)
	}
	if empty := enrolmentChart(nil); len(empty.Bars) != 0 || empty.Width != chartWidth {
		t.Errorf("enrolmentChart(nil) = %+v", empty)
	}
}
