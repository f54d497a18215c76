package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passd/passd/internal/loyalty"
)

// InstallsSource answers the cards installed per programme.
type InstallsSource interface {
	CardsInstalledByProgram(ctx context.Context) (map[string]loyalty.CardsInstalled, error)
}

var descInstalled = prometheus.NewDesc("passd_cards_installed",
	"Cards installed on phones, by programme and wallet (apple: members with a registered device; google: saved cards).",
	[]string{"program", "wallet"}, nil)

// AddInstalls adds the per-programme installed cards gauge, read from src
// at scrape time. Its labels are bounded by the programmes.
func (m *Metrics) AddInstalls(src InstallsSource, log *slog.Logger) {
	m.reg.MustRegister(&installs{src: src, log: log})
}

type installs struct {
	src InstallsSource
	log *slog.Logger
}

func (c *installs) Describe(ch chan<- *prometheus.Desc) { ch <- descInstalled }

func (c *installs) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	by, err := c.src.CardsInstalledByProgram(ctx)
	if err != nil {
		c.log.Warn("metrics: cards installed", "err", err)
		return
	}
	for p, n := range by {
		ch <- prometheus.MustNewConstMetric(descInstalled, prometheus.GaugeValue, float64(n.Apple), p, loyalty.ChannelApple)
		ch <- prometheus.MustNewConstMetric(descInstalled, prometheus.GaugeValue, float64(n.Google), p, loyalty.ChannelGoogle)
	}
}
