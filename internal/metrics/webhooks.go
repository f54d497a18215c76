package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhooks registers the webhook metrics: passd_webhook_attempts_total by
// outcome (delivered, retry, failed, disabled), counted by the function it
// answers (webhooks.Config.Observe), and passd_webhook_outbox_lag_seconds,
// the age of the oldest undelivered event, read from lag at scrape time.
func (m *Metrics) Webhooks(lag func(context.Context) (time.Duration, error)) (observe func(outcome string)) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "passd_webhook_attempts_total", Help: "Webhook delivery attempts by outcome (delivered, retry, failed, disabled).",
	}, []string{"outcome"})
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "passd_webhook_outbox_lag_seconds", Help: "Age of the oldest webhook event waiting for delivery to a live endpoint (0: none).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, err := lag(ctx)
		if err != nil {
			return 0
		}
		return d.Seconds()
	})
	m.reg.MustRegister(attempts, gauge)
	return func(outcome string) { attempts.WithLabelValues(outcome).Inc() }
}
