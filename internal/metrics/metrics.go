// Package metrics exposes passd's Prometheus metrics on an explicit
// registry: pushes by outcome, sync deliveries, cards waiting and in error
// per channel, the age of the oldest waiting card, device registrations,
// the signed-pass cache and HTTP requests.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source answers the gauges read at scrape time.
type Source interface {
	SyncStats(ctx context.Context, channel string) (waiting int64, oldest time.Duration, errored int64, err error)
	CountRegistrations(ctx context.Context) (int64, error)
}

// CacheStats answers the signed-pass cache's counters.
type CacheStats func() (entries, bytes int, hits, misses uint64)

// Metrics holds passd's collectors.
type Metrics struct {
	reg        *prometheus.Registry
	pushes     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	requests   *prometheus.CounterVec
}

// New registers passd's metrics on a fresh registry.
func New(src Source, channels []string, cache CacheStats, log *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passd_apns_pushes_total", Help: "APNs pushes sent, by outcome (delivered, unregistered, retry, certificate, permanent).",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passd_sync_deliveries_total", Help: "Card deliveries by channel and result (ok, retry, error).",
		}, []string{"channel", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "passd_sync_delivery_seconds", Help: "Time to deliver one card on a channel.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"channel"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passd_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.pushes, m.deliveries, m.latency, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrape{src: src, channels: channels, cache: cache, log: log})
	return m
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Push counts one APNs push outcome.
func (m *Metrics) Push(outcome string) { m.pushes.WithLabelValues(outcome).Inc() }

// Delivered implements cardsync.Observer.
func (m *Metrics) Delivered(channel string, d time.Duration) {
	m.deliveries.WithLabelValues(channel, "ok").Inc()
	m.latency.WithLabelValues(channel).Observe(d.Seconds())
}

// Failed implements cardsync.Observer.
func (m *Metrics) Failed(channel string, gaveUp bool) {
	r := "retry"
	if gaveUp {
		r = "error"
	}
	m.deliveries.WithLabelValues(channel, r).Inc()
}

// Request counts one HTTP request.
func (m *Metrics) Request(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// scrape reads the database-backed gauges when Prometheus scrapes.
type scrape struct {
	src      Source
	channels []string
	cache    CacheStats
	log      *slog.Logger
}

var (
	descWaiting = prometheus.NewDesc("passd_sync_dirty_cards", "Cards waiting for delivery, by channel.", []string{"channel"}, nil)
	descOldest  = prometheus.NewDesc("passd_sync_oldest_dirty_seconds", "Age of the oldest card waiting for delivery, by channel.", []string{"channel"}, nil)
	descErrored = prometheus.NewDesc("passd_sync_error_cards", "Cards whose delivery gave up (error state), by channel.", []string{"channel"}, nil)
	descRegs    = prometheus.NewDesc("passd_apple_registrations", "Devices registered for pass updates.", nil, nil)
	descCache   = prometheus.NewDesc("passd_pass_cache_entries", "Signed passes in the cache.", nil, nil)
	descCacheB  = prometheus.NewDesc("passd_pass_cache_bytes", "Bytes of signed passes in the cache.", nil, nil)
	descHits    = prometheus.NewDesc("passd_pass_cache_hits_total", "Pass fetches answered from the cache.", nil, nil)
	descMisses  = prometheus.NewDesc("passd_pass_cache_misses_total", "Pass fetches that signed a pass.", nil, nil)
)

func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWaiting, descOldest, descErrored, descRegs, descCache, descCacheB, descHits, descMisses} {
		ch <- d
	}
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range s.channels {
		waiting, oldest, errored, err := s.src.SyncStats(ctx, c)
		if err != nil {
			s.log.Warn("metrics: sync stats", "channel", c, "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(waiting), c)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest.Seconds(), c)
		ch <- prometheus.MustNewConstMetric(descErrored, prometheus.GaugeValue, float64(errored), c)
	}
	if n, err := s.src.CountRegistrations(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descRegs, prometheus.GaugeValue, float64(n))
	} else {
		s.log.Warn("metrics: registrations", "err", err)
	}
	if s.cache != nil {
		entries, bytes, hits, misses := s.cache()
		ch <- prometheus.MustNewConstMetric(descCache, prometheus.GaugeValue, float64(entries))
		ch <- prometheus.MustNewConstMetric(descCacheB, prometheus.GaugeValue, float64(bytes))
		ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(hits))
		ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(misses))
	}
}
