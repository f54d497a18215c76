// Package server wires passd together: configuration, storage, programs,
// certificates, the HTTP surfaces and the background workers, and runs them
// until the context ends, shutting down in order (HTTP first, then the
// workers, then the database).
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/cardsync"
	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/datalock"
	"github.com/passd/passd/internal/lease"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/metrics"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/programs"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/web"
	"github.com/passd/passd/internal/webhooks"
	"github.com/passd/passd/passkit"
	"github.com/passd/passd/passkit/apns"
	"github.com/passd/passd/passkit/webservice"
	"github.com/passd/passd/templates"
)

// Server is a running passd: tests start it on ":0" with a temp data folder.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	now      func() time.Time
	Store    *store.Store
	Programs *loyalty.Catalog
	// ProgramService keeps the programmes as data and runs their worker.
	ProgramService *programs.Service
	Secret         []byte
	Links          *links.Signer
	Cards          *cards.Service
	Metrics        *metrics.Metrics
	Engine         *cardsync.Engine
	// Automations runs the time-driven work (expiry, reminders, birthdays,
	// dormancy, voucher expiry, tier reviews); tests call its RunOnce
	// after moving their clock.
	Automations *automations.Runner
	// Figures folds the programme figures' deltas (automations.Figures)
	// off the request path.
	Figures *automations.Runner
	// Webhooks delivers the outbox's webhook events.
	Webhooks *webhooks.Deliverer
	// Leases heart-beats this instance and hands the claims of stopped
	// instances back to the pool (internal/lease).
	Leases *lease.Registry

	// apns is nil in development mode without PASSD_APNS_URL, where
	// pushes are logged (devPusher) instead of sent.
	apns *apns.Client
	// metricsLn and metricsHTTP serve /metrics apart when
	// PASSD_METRICS_ADDR is set; nil otherwise.
	metricsLn   net.Listener
	metricsHTTP *http.Server
	closeGoogle func()
	// googleClasses updates programmes' Google classes; nil when Google
	// Wallet is off.
	googleClasses *cardsync.Google
	opts          Options
	ln            net.Listener
	http          *http.Server
	// dataLock is the data folder's lock (internal/datalock), held shared
	// while passd runs on SQLite so that passctl restore refuses; nil on
	// PostgreSQL.
	dataLock io.Closer
	// instanceLock proves this instance alive to the others on SQLite
	// (datalock.Instance); nil on PostgreSQL, whose sessions do.
	instanceLock io.Closer
	started      atomic.Bool
}

// Options are the test seams of New; zero values take production defaults.
type Options struct {
	Now func() time.Time
	// SyncPoll is how often sync workers look for due cards unprompted.
	SyncPoll time.Duration
	// SyncDebounce delays a card's first delivery after it turns dirty so
	// bursts coalesce.
	SyncDebounce time.Duration
	// BackoffBase is the first retry delay of a failed delivery.
	BackoffBase time.Duration
	// PruneEvery is how often idempotency keys older than
	// IdempotencyRetention, the device registrations of members erased
	// more than ErasedRegistrationRetention ago, Google callback nonces
	// older than GoogleCallbackNonceRetention, expired console sessions
	// and set-password links, and webhook deliveries finished more than
	// WebhookRetention ago are deleted (hourly when zero).
	PruneEvery time.Duration
	// NoSync leaves the sync workers off: changes are recorded but not
	// delivered (tests use it to stand for a passd killed after a commit).
	NoSync bool
	// GoogleHTTPClient carries Google Wallet's token and API calls; nil
	// means a client with a 30 s timeout (tests pass one that trusts their
	// fake's TLS certificate).
	GoogleHTTPClient *http.Client
	// GoogleRequestsPerSecond paces the calls to Google Wallet's API;
	// zero means GoogleRequestsPerSecond (the package constant), a
	// negative value no pacing (benchmarks that measure Google's raw
	// cost).
	GoogleRequestsPerSecond float64
	// ProgramBatch is how many cards one transaction marks after a
	// programme change (programs.DefaultBatch when zero).
	ProgramBatch int
	// ProgramPoll is how often the programme worker looks for work and
	// for other instances' changes (programs.DefaultPoll when zero).
	ProgramPoll time.Duration
	// AutomationPoll is how often the time-driven work looks for what is
	// due (automations.DefaultPoll when zero).
	AutomationPoll time.Duration
	// NoAutomations leaves the time-driven work off; tests that drive it
	// call Automations.RunOnce themselves.
	NoAutomations bool
	// WebhookTLS is the webhook client's TLS configuration (nil: the
	// system's roots); tests trust their receiver with it.
	WebhookTLS *tls.Config
	// WebhookPoll is how often webhook workers look for due deliveries
	// unprompted (webhooks.DefaultPoll when zero).
	WebhookPoll time.Duration
}

// IdempotencyRetention is how long idempotency keys are kept: a week, well
// past the 24 hours the API promises, so a till that retries after a
// weekend still gets its first answer.
const IdempotencyRetention = 7 * 24 * time.Hour

// ErasedRegistrationRetention is how long an erased member's device
// registrations (device identifiers and push tokens) outlive the erasure:
// long enough for the voided card's push to reach phones that were off
// or offline (APNs retries for days), after which they are deleted. The
// voided pass has no web service, so no phone would unregister it.
const ErasedRegistrationRetention = 7 * 24 * time.Hour

// RateBucketRetention is how long an untouched rate-limit bucket is kept:
// every limit of passd refills within a day, so an older bucket is full
// and a missing one stands for it.
const RateBucketRetention = 24 * time.Hour

// WebhookRetention is how long finished webhook deliveries, their events
// and the attempts log are kept (the log lists the last 100 attempts).
const WebhookRetention = 30 * 24 * time.Hour

// DefaultSyncDebounce lets a burst of changes (a basket scanned item by
// item) become one push while keeping updates within about a second.
const DefaultSyncDebounce = 300 * time.Millisecond

// New prepares passd: opens the data folder and the database, loads the
// programs and certificates and listens on cfg.Addr (so a busy port fails
// here), but serves nothing until Run.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log, now: opts.Now, opts: opts}
	if s.now == nil {
		s.now = time.Now
	}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	// Bind first: a port in use fails start-up before anything is written
	// (data folder, secret, database, development certificates).
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("PASSD_ADDR: listen on %s: %w", cfg.Addr, err)
	}
	closers = append(closers, func() { s.ln.Close() })
	if cfg.MetricsAddr != "" {
		if s.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("PASSD_METRICS_ADDR: listen on %s: %w", cfg.MetricsAddr, err)
		}
		closers = append(closers, func() { s.metricsLn.Close() })
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("PASSD_DATA_DIR: %s: %w", cfg.DataDir, err)
	}
	secret, err := LoadSecret(cfg.Secret, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("PASSD_SECRET: %w", err)
	}
	s.Secret = secret
	s.Links = links.New(secret, cfg.PublicURL)
	tmpl, err := LoadPrograms(cfg)
	if err != nil {
		return nil, err
	}

	if opts.SyncDebounce == 0 {
		opts.SyncDebounce = DefaultSyncDebounce
	}
	// The instance id is new at every start: a restarted process is a new
	// instance, and releases its predecessor's claims at once (below).
	instance := uuid.NewString()
	var alive func(string) (bool, bool)
	// A channel that is off gets no sync rows and no metric series, so no
	// backlog grows for it (see syncChannels).
	channelsOn := enabledChannels(cfg)
	sopts := store.Options{Now: s.now, Logger: log, SyncDebounce: opts.SyncDebounce, Instance: instance, Channels: channelsOn}
	if cfg.DatabaseURL != "" {
		s.Store, err = store.OpenPostgres(ctx, cfg.DatabaseURL, sopts)
	} else {
		if s.dataLock, err = datalock.Shared(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("PASSD_DATA_DIR: %w (is passctl restore running?)", err)
		}
		closers = append(closers, func() { s.dataLock.Close() })
		if s.instanceLock, err = datalock.Instance(cfg.DataDir, instance); err != nil {
			return nil, fmt.Errorf("PASSD_DATA_DIR: %w", err)
		}
		closers = append(closers, func() { s.instanceLock.Close() })
		alive = func(id string) (bool, bool) { return datalock.InstanceAlive(cfg.DataDir, id) }
		s.Store, err = store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "passd.db"), sopts)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	closers = append(closers, func() { s.Store.Close() })

	// Programmes are data: templates seed them once, the catalog follows
	// the database.
	s.Programs = loyalty.NewCatalog()
	if s.ProgramService, err = programs.New(programs.Config{
		Store: s.Store, Catalog: s.Programs, Placeholder: placeholderFiles(tmpl), Logger: log,
		Batch: opts.ProgramBatch, Poll: opts.ProgramPoll,
		// The engine, the automations and the Google channel are made
		// below, before Run starts the worker that calls these. A batch
		// of marks may have planned tier reviews (a change of the tier
		// rules): the automations look at once.
		OnMarked: func() { s.Engine.Wake(); s.Automations.Wake() },
		SyncClass: func(ctx context.Context, p *loyalty.Program) error {
			if s.googleClasses == nil {
				return nil
			}
			return s.googleClasses.SyncClass(ctx, p)
		},
	}); err != nil {
		return nil, err
	}
	if err := s.ProgramService.Seed(ctx, templatePrograms(tmpl)); err != nil {
		return nil, fmt.Errorf("programs: %w", err)
	}
	if err := syncChannels(ctx, s.Store, cfg, log); err != nil {
		return nil, err
	}
	// Members enrolled before referral codes existed get one now; once
	// done, this is one query on an empty partial index.
	n, err := s.Store.BackfillReferralCodes(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.InfoContext(ctx, "referral codes given", "members", n)
	}

	creds, err := LoadCredentials(cfg, s.now(), log)
	if err != nil {
		return nil, err
	}
	signer, err := passkit.NewSigner(creds)
	if err != nil {
		return nil, fmt.Errorf("pass signer: %w", err)
	}
	signer.Now = s.now
	log.InfoContext(ctx, "pass signer", "backend", signer.Backend())
	s.Cards = cards.New(cards.Config{Signer: signer, Store: s.Store, Programs: s.Programs, Secret: secret, PublicURL: cfg.PublicURL, Now: s.now})
	s.Metrics = metrics.New(s.Store, channelsOn, s.Cards.Cache().Stats, log)
	s.Metrics.AddInstalls(s.Store, log)

	var pusher cardsync.Pusher = devPusher{log: log}
	if !s.pushesLogged() {
		if s.apns, err = newAPNS(cfg, creds); err != nil {
			return nil, err
		}
		closers = append(closers, s.apns.Close)
		pusher = s.apns
	}
	channels := map[string]cardsync.Deliverer{}
	var saveURL func(string) (string, error)
	var googleCallbacks http.Handler
	gw, err := newGoogle(ctx, cfg, s, log)
	if err != nil {
		return nil, err
	}
	if gw != nil {
		channels[loyalty.ChannelGoogle] = gw.Deliverer
		s.googleClasses = gw.Classes
		saveURL = gw.SaveURL
		googleCallbacks = gw.Callbacks
		closers = append(closers, gw.Close)
		s.closeGoogle = gw.Close
	}
	apple := &cardsync.Apple{Store: s.Store, Pusher: pusher, Logger: log,
		OnPush: func(o apns.Outcome) { s.Metrics.Push(o.String()) }}
	channels[loyalty.ChannelApple] = apple
	if s.Engine, err = cardsync.New(cardsync.Config{
		Store: s.Store, Logger: log, Now: s.now, Observer: s.Metrics,
		Channels: channels,
		Poll:     opts.SyncPoll, BackoffBase: opts.BackoffBase,
	}); err != nil {
		return nil, err
	}
	// Register this instance and take back the claims of instances that
	// stopped (a crashed predecessor's first of all) before serving.
	s.Leases = lease.New(lease.Config{
		Store: s.Store, ID: instance, Now: s.now, Alive: alive, Logger: log, OnReleased: s.Engine.Wake,
	})
	if _, err := s.Leases.Step(ctx); err != nil {
		return nil, err
	}
	// Time-driven work: each mechanic adds its job here; most change
	// cards, so a pass that did work wakes the sync engine.
	s.Automations = automations.New(automations.Config{Now: s.now, Poll: opts.AutomationPoll, Logger: log})
	// Its work may have written webhook events too (s.Webhooks is made
	// below, before Run starts the runner).
	s.Automations.OnDone = func() { s.Engine.Wake(); s.Webhooks.Wake() }
	s.Automations.Add(
		automations.Expire{Store: s.Store}, automations.Remind{Store: s.Store},
		automations.Birthdays{Store: s.Store, Programs: s.Programs},
		automations.Dormant{Store: s.Store, Programs: s.Programs},
		automations.Vouchers{Store: s.Store},
		automations.TierReviews{Store: s.Store, Programs: s.Programs},
	)
	// The figures' folding is bookkeeping, not a change to any card: it
	// runs on its own runner, which wakes nobody.
	s.Figures = automations.New(automations.Config{Now: s.now, Poll: opts.AutomationPoll, Logger: log}, automations.Figures{Store: s.Store})
	if s.Webhooks, err = webhooks.New(webhooks.Config{
		Store: s.Store, Logger: log, Now: s.now, AllowHTTP: cfg.WebhookAllowHTTP,
		TLSConfig: opts.WebhookTLS, Poll: opts.WebhookPoll, Observe: s.Metrics.Webhooks(s.Store.WebhookBacklog),
	}); err != nil {
		return nil, err
	}

	// The API and the pages show the same members: one set of
	// dependencies serves both.
	deps := surface.Deps{
		Store: s.Store, Programs: s.Programs, Secret: secret, Links: s.Links, Logger: log, Now: s.now,
		GoogleSaveURL: saveURL,
		// A change may have written webhook events too.
		OnChange:   func() { s.Engine.Wake(); s.Webhooks.Wake() },
		ClientAddr: clientaddr.New(cfg.TrustedProxies),
	}
	apiSrv, err := api.New(api.Config{
		Deps: deps, BootstrapAdminKey: cfg.BootstrapAdminKey, ProgramEditor: s.ProgramService,
		AuthFailureLimit: cfg.AuthFailureLimit, WebhookAllowHTTP: cfg.WebhookAllowHTTP,
	})
	if err != nil {
		return nil, err
	}

	webSrv, err := web.New(web.Config{Deps: deps, PublicURL: cfg.PublicURL,
		JoinLimitPerAddress: cfg.JoinLimitPerAddress, JoinLimitPerProgram: cfg.JoinLimitPerProgram})
	if err != nil {
		return nil, err
	}

	consoleSrv, err := console.New(console.Config{Deps: deps, PublicURL: cfg.PublicURL, Till: apiSrv.Staff, Editor: s.ProgramService,
		WebhookAllowHTTP: cfg.WebhookAllowHTTP,
		Export: func(ctx context.Context, memberID string) ([]byte, error) {
			ex, err := apiSrv.Export(ctx, memberID)
			if err != nil {
				return nil, err
			}
			return json.MarshalIndent(ex, "", "  ")
		}})
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.accessLog, middleware.Recoverer)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	metricsHandler := metricsAuth(log, cfg.MetricsToken, s.Metrics.Handler())
	if s.metricsLn == nil {
		r.Handle("/metrics", metricsHandler)
	}
	r.Mount("/api/v1", apiSrv.Handler())
	r.Get("/openapi.json", api.OpenAPIHandler().ServeHTTP)
	r.Mount("/join", webSrv.Handler())
	r.Mount("/console", consoleSrv.Handler())
	r.Get("/programs/{program}/{image}", s.ProgramImage)
	if googleCallbacks != nil {
		r.Post(cards.GoogleCallbackPath, googleCallbacks.ServeHTTP)
	}
	r.Mount(cards.WebServicePath, webservice.New(webservice.Config{
		Backend: s.Cards.Backend(), PassTypeID: cfg.ApplePassTypeID, Prefix: cards.WebServicePath, Logger: log, Now: s.now,
		Unavailable: problem.Unavailable,
	}))
	download := s.Cards.DownloadHandler(s.Links, func(w http.ResponseWriter, r *http.Request, err error) { problem.Write(w, r, s.log, err) })
	r.Get("/passes/{file}", download)
	r.Head("/passes/{file}", download)

	s.http = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if s.metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler)
		s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	return s, nil
}

// enabledChannels lists the sync channels that are on: Apple always,
// Google when an issuer is configured.
func enabledChannels(cfg config.Config) []string {
	if cfg.GoogleEnabled() {
		return []string{loyalty.ChannelApple, loyalty.ChannelGoogle}
	}
	return []string{loyalty.ChannelApple}
}

// syncChannels brings the sync rows in step with the channels at start:
// with Google off, its rows go (nothing waits for it); with Google on,
// every card without a Google row gets one, so turning Google on enqueues
// every card once.
func syncChannels(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	if !cfg.GoogleEnabled() {
		n, err := st.DisableChannel(ctx, loyalty.ChannelGoogle)
		if err != nil {
			return err
		}
		if n > 0 {
			log.InfoContext(ctx, "Google Wallet is off: its sync queue was cleared", "cards", n)
		}
		return nil
	}
	n, err := st.EnableChannel(ctx, loyalty.ChannelGoogle)
	if err != nil {
		return err
	}
	if n > 0 {
		log.InfoContext(ctx, "Google Wallet is on: every card without a Google sync row is queued once", "cards", n)
	}
	return nil
}

// pushesLogged reports development mode without an explicit APNs URL:
// development certificates can never push to Apple's APNs, so pushes are
// logged instead of sent.
func (s *Server) pushesLogged() bool {
	return s.cfg.DevCertificates() && !s.cfg.APNSURLExplicit
}

// adviseAdminKey says at start how to get an admin API key when none
// exists, so a newcomer is not left with an API that answers 401.
func (s *Server) adviseAdminKey(ctx context.Context) {
	if s.cfg.BootstrapAdminKey != "" {
		return
	}
	keys, err := s.Store.APIKeys(ctx)
	if err != nil {
		s.log.Warn("list API keys", "err", err)
		return
	}
	for _, k := range keys {
		if k.Role == loyalty.RoleAdmin && k.RevokedAt == nil {
			return
		}
	}
	s.log.Info("no admin API key yet: set PASSD_BOOTSTRAP_ADMIN_KEY, or run: go run ./cmd/passctl apikey create --role admin")
}

// newAPNS makes the APNs client: the pass certificate (with the WWDR
// intermediate) as TLS client certificate, topic = pass type identifier.
// apnsConnections is how many HTTP/2 connections passd keeps to APNs.
const apnsConnections = 2

func newAPNS(cfg config.Config, creds *passkit.Credentials) (*apns.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if cfg.APNSCA != "" {
		pem, err := os.ReadFile(cfg.APNSCA)
		if err != nil {
			return nil, fmt.Errorf("PASSD_APNS_CA: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("PASSD_APNS_CA: %s holds no PEM certificate", cfg.APNSCA)
		}
	}
	chain := [][]byte{creds.Certificate.Raw}
	if creds.WWDR != nil {
		chain = append(chain, creds.WWDR.Raw)
	}
	c, err := apns.New(apns.Config{
		BaseURL:     cfg.APNSURL,
		Certificate: tls.Certificate{Certificate: chain, PrivateKey: creds.Key, Leaf: creds.Certificate},
		RootCAs:     roots,
		Topic:       cfg.ApplePassTypeID,
		// Two HTTP/2 connections, each with its concurrent streams: Go's
		// HTTP/2 client writes one frame at a time per connection, and a
		// second one lets a big message's fan-out use both cores
		// (BenchmarkPushFanout in docs/benchmarks.md).
		Connections: apnsConnections,
	})
	if err != nil {
		return nil, fmt.Errorf("PASSD_APNS_URL: %w", err)
	}
	return c, nil
}

// templatePrograms lists the catalog's programmes.
func templatePrograms(c *loyalty.Catalog) []*loyalty.Program {
	var ps []*loyalty.Program
	for _, id := range c.IDs() {
		if p, err := c.Get(id); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// placeholderFiles are the files a programme created through the API
// starts with: the demo template's icon, which every Apple pass needs,
// until the merchant uploads its own.
func placeholderFiles(c *loyalty.Catalog) map[string][]byte {
	files := map[string][]byte{}
	if p, err := c.Get("demo"); err == nil {
		for _, name := range []string{"icon.png", "icon@2x.png", "icon@3x.png"} {
			if b, ok := p.Files[name]; ok {
				files[name] = b
			}
		}
	}
	return files
}

// LoadPrograms loads the embedded templates and those under
// PASSD_TEMPLATES_DIR.
func LoadPrograms(cfg config.Config) (*loyalty.Catalog, error) {
	sources := []loyalty.TemplateSource{{Name: "templates", FS: templates.FS, Dir: "."}}
	if cfg.TemplatesDir != "" {
		sources = append(sources, loyalty.TemplateSource{Name: cfg.TemplatesDir, FS: os.DirFS(cfg.TemplatesDir), Dir: "."})
	}
	return loyalty.LoadCatalog(sources...)
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr is the address /metrics listens on apart
// (PASSD_METRICS_ADDR), nil when it is served on the main listener.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// URL is the server's loopback base URL, for tests.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Run serves until ctx ends, then shuts down in order: HTTP first (in-flight
// requests finish), then the sync workers (deliveries under way finish),
// then the APNs connection and the database.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		if !s.opts.NoSync {
			s.Engine.Run(workCtx)
		}
	}()
	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); s.prune(workCtx) }()
	checkDone := make(chan struct{})
	go func() { defer close(checkDone); s.checkAPNs(workCtx) }()
	programsDone := make(chan struct{})
	go func() { defer close(programsDone); s.ProgramService.Run(workCtx) }()
	leasesDone := make(chan struct{})
	go func() { defer close(leasesDone); s.Leases.Run(workCtx) }()
	automationsDone := make(chan struct{})
	go func() {
		defer close(automationsDone)
		if !s.opts.NoAutomations {
			s.Automations.Run(workCtx)
		}
	}()
	figuresDone := make(chan struct{})
	go func() { defer close(figuresDone); s.Figures.Run(workCtx) }()
	webhooksDone := make(chan struct{})
	go func() { defer close(webhooksDone); s.Webhooks.Run(workCtx) }()
	metricsDone := make(chan error, 1)
	if s.metricsHTTP != nil {
		go func() { metricsDone <- s.metricsHTTP.Serve(s.metricsLn) }()
		s.log.Info("metrics served apart", "addr", s.metricsLn.Addr().String())
	}
	s.started.Store(true)
	if s.pushesLogged() {
		s.log.Warn("development mode: pushes to iPhones are logged here, not sent to Apple (development certificates cannot push; set PASSD_APNS_URL to send them)")
	}
	s.log.Info("passd started", "addr", s.ln.Addr().String(), "public_url", s.cfg.PublicURL,
		"store", s.Store.Dialect(), "programs", s.Programs.IDs())
	s.adviseAdminKey(ctx) // before the enrolment pages, which end the start-up lines
	for _, id := range s.Programs.IDs() {
		s.log.Info("enrollment page", "program", id, "url", s.cfg.PublicURL+"/join/"+id)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.started.Store(false)
	s.log.Info("passd stopping")
	shCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.http.Shutdown(shCtx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	if s.metricsHTTP != nil {
		if err := s.metricsHTTP.Shutdown(shCtx); err != nil {
			s.log.Warn("metrics shutdown", "err", err)
		}
		<-metricsDone
	}
	stopWork()
	<-pruneDone
	<-checkDone
	<-programsDone
	<-automationsDone
	<-figuresDone
	<-webhooksDone
	<-leasesDone
	select {
	case <-workDone:
		// Deliveries finished: hand over what this instance still holds.
		if err := s.Leases.Leave(shCtx); err != nil {
			s.log.Warn("release claims at stop", "err", err)
		}
	case <-shCtx.Done():
		s.log.Warn("sync workers did not stop in time")
	}
	if s.apns != nil {
		s.apns.Close()
	}
	if s.closeGoogle != nil {
		s.closeGoogle()
	}
	if err := s.Store.Close(); err != nil {
		s.log.Warn("close database", "err", err)
	}
	if s.instanceLock != nil {
		s.instanceLock.Close()
	}
	if s.dataLock != nil {
		s.dataLock.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// checkAPNs has APNs look at the pass certificate once at start (a TLS
// handshake with it as client certificate, then HTTP/2's first frame), so
// that a wrong, revoked or expired certificate is in the log at start
// rather than at the first push. It does not stop passd: APNs may be out
// of reach for a while, and pushes retry. Development certificates are not
// checked against Apple's APNs, which refuses them by design.
func (s *Server) checkAPNs(ctx context.Context) {
	if s.apns == nil {
		return
	}
	err := s.apns.Check(ctx)
	switch {
	case err == nil:
		s.log.Info("APNs accepted the pass certificate", "apns_url", s.cfg.APNSURL)
	case ctx.Err() != nil:
	case errors.Is(err, apns.ErrTLSCredentials), errors.Is(err, apns.ErrNotHTTP2):
		s.log.Error("APNs REFUSED the pass certificate: no card will update on iPhones until it is fixed (PASSD_APPLE_CERT/KEY or PASSD_APPLE_P12, PASSD_APPLE_WWDR, PASSD_APNS_URL)",
			"apns_url", s.cfg.APNSURL, "err", err)
	default:
		s.log.Warn("APNs not reachable at start; pushes will retry", "apns_url", s.cfg.APNSURL, "err", err)
	}
}

// prune deletes, now and then until ctx ends, expired idempotency keys, the
// device registrations of members erased long enough ago and old Google
// callback nonces.
func (s *Server) prune(ctx context.Context) {
	every := s.opts.PruneEvery
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := s.now()
		n, err := s.Store.PruneIdempotencyKeys(ctx, now.Add(-IdempotencyRetention))
		s.logPrune(ctx, "idempotency keys", n, err)
		n, err = s.Store.PruneErasedRegistrations(ctx, now.Add(-ErasedRegistrationRetention))
		s.logPrune(ctx, "erased members' registrations", n, err)
		n, err = s.Store.PruneGoogleCallbackNonces(ctx, now.Add(-GoogleCallbackNonceRetention))
		s.logPrune(ctx, "google callback nonces", n, err)
		n, err = s.Store.PruneStaffSessions(ctx, now.Add(-console.IdleTimeout), now.Add(-console.AbsoluteTimeout))
		s.logPrune(ctx, "expired console sessions", n, err)
		n, err = s.Store.PruneRateBuckets(ctx, now.Add(-RateBucketRetention))
		s.logPrune(ctx, "idle rate-limit buckets", n, err)
		n, err = s.Store.PruneWebhooks(ctx, now.Add(-WebhookRetention))
		s.logPrune(ctx, "webhook events", n, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) logPrune(ctx context.Context, what string, n int64, err error) {
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("prune failed", "what", what, "err", err)
	case n > 0:
		s.log.Info("pruned", "what", what, "count", n)
	}
}

// fail answers a non-API surface's error as problem+json.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, detail string) {
	problem.Write(w, r, s.log, problem.Status(status, detail))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.started.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("starting\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !s.started.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("starting\n"))
		return
	}
	if err := s.Store.Ping(ctx); err != nil {
		s.log.Warn("readiness: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// accessLog logs and counts each request by its route pattern, never its
// raw path or query (which may carry signed links or personal data).
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		s.Metrics.Request(route, ww.Status())
		s.log.Debug("http request", "request_id", middleware.GetReqID(r.Context()), "method", r.Method,
			"route", route, "status", ww.Status(), "bytes", ww.BytesWritten(), "duration_ms", time.Since(start).Milliseconds())
	})
}
