package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bounds of passctl load: a typo must not become an hour-long or unbounded
// test, and latencies are kept one per request in memory (8 bytes each).
const (
	loadMaxDuration    = 5 * time.Minute
	loadMaxRequests    = 10_000_000
	loadMaxMembers     = 100_000
	loadMaxConcurrency = 1024
	// loadCheckTimeout bounds the consistency check after an interrupt,
	// when the command's own context is already done.
	loadCheckTimeout = 2 * time.Minute
	// loadReplayHistory is how many of its recent earns a worker keeps for
	// replays.
	loadReplayHistory = 64
	// loadMaxDetails bounds the mismatches listed in the report.
	loadMaxDetails = 50
	// loadReference marks the ledger entries the load generator posts.
	loadReference = "passctl load"
)

const loadUsage = `passctl load: drive a running passd through its JSON API and check its ledger

  passctl load --key KEY [--url http://127.0.0.1:8080] [--program demo] [--members 100]
               [--concurrency 16] [--duration 10s] [--requests N]
               [--mix earn=80,redeem=10,scan=10[,replay=N]] [--timeout 30s] [--json] [--allow-remote]

Setup (not timed) enrols --members members, so the key needs the merchant
role. Then --concurrency workers send requests until --duration or
--requests is reached (at most 5m and 10,000,000), each choosing by --mix:
  earn     POST /api/v1/members/{id}/transactions, a fresh Idempotency-Key
  redeem   the same with a small redeem; 409 insufficient_points is expected
  scan     POST /api/v1/pos/scan with the member's barcode
  replay   re-send an earn with its key; another transaction id is an error
Finally every member's points are checked against the sum of its
transactions, and against what the server acknowledged. The exit code is 1
when any request failed or any member does not add up.

The key may come from PASSCTL_API_KEY instead of --key. A URL whose host is
not loopback is refused without --allow-remote.

Flags:
`

// loadOp is one kind of request of the load.
type loadOp int

const (
	opEarn loadOp = iota
	opRedeem
	opScan
	opReplay
	numOps
)

func (o loadOp) String() string {
	switch o {
	case opEarn:
		return "earn"
	case opRedeem:
		return "redeem"
	case opScan:
		return "scan"
	case opReplay:
		return "replay"
	}
	return "op" + strconv.Itoa(int(o))
}

// loadConfig is a parsed passctl load command line.
type loadConfig struct {
	base        string // URL without a trailing slash
	key         string
	program     string
	members     int
	concurrency int
	duration    time.Duration
	requests    int64
	mix         [numOps]int
	timeout     time.Duration
	json        bool
}

func parseLoad(args []string, getenv func(string) string, stdout io.Writer) (loadConfig, bool, error) {
	var c loadConfig
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "passd's base URL")
	fs.StringVar(&c.key, "key", "", "API key (merchant or admin role); default $PASSCTL_API_KEY")
	fs.StringVar(&c.program, "program", "demo", "program to enrol the members in")
	fs.IntVar(&c.members, "members", 100, "members to enrol before the run")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent workers")
	fs.DurationVar(&c.duration, "duration", 0, "how long to run (default 10s, or 5m with --requests)")
	fs.Int64Var(&c.requests, "requests", 0, "stop after this many requests (0: run for --duration)")
	mix := fs.String("mix", "earn=80,redeem=10,scan=10", "operations and their weights: earn, redeem, scan, replay")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON")
	allowRemote := fs.Bool("allow-remote", false, "allow a URL whose host is not loopback")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, loadUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return c, true, nil
		}
		return c, false, fmt.Errorf("load: %v: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("load: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	base, loopback, err := parseBaseURL(*rawURL)
	if err != nil {
		return c, false, fmt.Errorf("load: --url: %v: %w", err, errUsage)
	}
	if !loopback && !*allowRemote {
		return c, false, fmt.Errorf("load: --url %s is not a loopback address; pass --allow-remote to load-test another machine (never production)", *rawURL)
	}
	c.base = base
	if c.key == "" {
		c.key = getenv("PASSCTL_API_KEY")
	}
	if c.key == "" {
		return c, false, fmt.Errorf("load: --key (or PASSCTL_API_KEY) is required: %w", errUsage)
	}
	if c.program == "" || strings.ContainsAny(c.program, "/?#% ") {
		return c, false, fmt.Errorf("load: --program %q is not a program id: %w", c.program, errUsage)
	}
	switch {
	case c.members < 1 || c.members > loadMaxMembers:
		return c, false, fmt.Errorf("load: --members must be 1 to %d: %w", loadMaxMembers, errUsage)
	case c.concurrency < 1 || c.concurrency > loadMaxConcurrency:
		return c, false, fmt.Errorf("load: --concurrency must be 1 to %d: %w", loadMaxConcurrency, errUsage)
	case c.duration < 0 || c.duration > loadMaxDuration:
		return c, false, fmt.Errorf("load: --duration must be at most %v: %w", loadMaxDuration, errUsage)
	case c.requests < 0 || c.requests > loadMaxRequests:
		return c, false, fmt.Errorf("load: --requests must be 0 to %d: %w", loadMaxRequests, errUsage)
	case c.timeout <= 0 || c.timeout > loadMaxDuration:
		return c, false, fmt.Errorf("load: --timeout must be positive and at most %v: %w", loadMaxDuration, errUsage)
	}
	if c.duration == 0 {
		c.duration = 10 * time.Second
		if c.requests > 0 {
			c.duration = loadMaxDuration
		}
	}
	if c.mix, err = parseMix(*mix); err != nil {
		return c, false, fmt.Errorf("load: --mix: %v: %w", err, errUsage)
	}
	return c, false, nil
}

// parseBaseURL checks an http(s) base URL and reports whether its host is a
// loopback address. Names other than localhost are not resolved: a name
// that happens to point at 127.0.0.1 still needs --allow-remote.
func parseBaseURL(raw string) (string, bool, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false, errors.New("want http://host:port or https://host:port, with no credentials or query")
	}
	host := u.Hostname()
	loopback := strings.EqualFold(host, "localhost")
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		loopback = true
	}
	return strings.TrimSuffix(u.String(), "/"), loopback, nil
}

// parseMix reads "earn=80,redeem=10,scan=10" into weights.
func parseMix(s string) ([numOps]int, error) {
	var w [numOps]int
	seen := map[string]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return w, fmt.Errorf("%q: want op=weight", part)
		}
		o := loadOp(-1)
		for i := range numOps {
			if i.String() == name {
				o = i
			}
		}
		if o < 0 {
			return w, fmt.Errorf("unknown operation %q (earn, redeem, scan, replay)", name)
		}
		if seen[name] {
			return w, fmt.Errorf("%s given twice", name)
		}
		seen[name] = true
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 1_000_000 {
			return w, fmt.Errorf("%s=%s: the weight must be an integer from 0 to 1000000", name, val)
		}
		w[o] = n
		total += n
	}
	if total == 0 {
		return w, errors.New("all weights are zero")
	}
	return w, nil
}

// load runs passctl load.
func load(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	cfg, help, err := parseLoad(args, getenv, stdout)
	if help {
		return 0, nil
	}
	if err != nil {
		return 2, err
	}
	l, err := newLoader(cfg)
	if err != nil {
		return 1, err
	}
	defer l.http.CloseIdleConnections()

	fmt.Fprintf(stderr, "passctl load: enrolling %d members in %s at %s\n", cfg.members, cfg.program, cfg.base)
	t0 := time.Now()
	if err := l.enrol(ctx); err != nil {
		return 1, fmt.Errorf("load: setup: %w", err)
	}
	rep := loadReport{
		URL: cfg.base, Program: cfg.program, Members: cfg.members, Concurrency: cfg.concurrency,
		Mix: map[string]int{}, SetupSeconds: time.Since(t0).Seconds(),
	}
	for o := range numOps {
		if cfg.mix[o] > 0 {
			rep.Mix[o.String()] = cfg.mix[o]
		}
	}
	limit := cfg.duration.String()
	if cfg.requests > 0 {
		limit = fmt.Sprintf("%d requests or %v", cfg.requests, cfg.duration)
	}
	fmt.Fprintf(stderr, "passctl load: %d members ready in %.1fs; %d workers for %s\n", cfg.members, rep.SetupSeconds, cfg.concurrency, limit)

	stats, elapsed := l.run(ctx)
	rep.Seconds = elapsed.Seconds()
	switch {
	case ctx.Err() != nil:
		rep.Stopped = "interrupted"
	case cfg.requests > 0 && l.issued.Load() >= cfg.requests:
		rep.Stopped = "requests"
	default:
		rep.Stopped = "duration"
	}
	rep.summarize(stats, elapsed)

	// After an interrupt the check still runs, on a context of its own with
	// a deadline: the ledger of a cut-short run must add up too.
	checkCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		checkCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), loadCheckTimeout)
		defer cancel()
		fmt.Fprintln(stderr, "passctl load: interrupted; checking the ledger before the report")
	}
	rep.Consistency = l.check(checkCtx)

	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1, err
		}
	} else {
		rep.writeText(stdout)
	}
	c := rep.Consistency
	if rep.Total.Errors > 0 || c.Mismatches > 0 || c.CheckErrors > 0 {
		return 1, fmt.Errorf("load: %d request errors, %d members that do not add up, %d members not checked",
			rep.Total.Errors, c.Mismatches, c.CheckErrors)
	}
	return 0, nil
}

// loadMember is one enrolled member and what the server acknowledged for it.
type loadMember struct {
	id      string
	barcode string
	// acked is the sum of the points of the entries the server
	// acknowledged (redeems negative), entries their number.
	acked   atomic.Int64
	entries atomic.Int64
	// unsure is set when a write's outcome is unknown (no answer, 5xx):
	// the client-side comparison is then skipped for this member.
	unsure atomic.Bool
}

// loader holds one run's client and members.
type loader struct {
	cfg     loadConfig
	http    *http.Client
	runID   string
	members []loadMember
	// deadline ends the run; issued counts requests begun, against --requests.
	deadline time.Time
	issued   atomic.Int64
	weights  int
}

func newLoader(cfg loadConfig) (*loader, error) {
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	// Every worker keeps a connection open: without enough idle conns per
	// host, each request beyond the second would open (and TIME_WAIT) a new
	// connection and the run would measure TCP set-up.
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2 * cfg.concurrency,
		MaxIdleConnsPerHost:   2 * cfg.concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	l := &loader{
		cfg:     cfg,
		http:    &http.Client{Transport: tr, Timeout: cfg.timeout},
		runID:   "load-" + hex.EncodeToString(id[:]),
		members: make([]loadMember, cfg.members),
	}
	for _, w := range cfg.mix {
		l.weights += w
	}
	return l, nil
}

// answer is an HTTP answer of passd.
type answer struct {
	status int
	body   []byte
}

// code is the problem code of an error answer, or "" when there is none.
func (a answer) code() string {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(a.body, &p) != nil {
		return ""
	}
	return p.Code
}

// call sends one request with the API key and reads the whole answer, so
// that the connection goes back to the pool.
func (l *loader) call(ctx context.Context, method, path string, body []byte, idemKey string) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.cfg.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+l.cfg.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := l.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return answer{}, err
	}
	return answer{status: res.StatusCode, body: b}, nil
}

// memberAnswer is the part of the member object the load generator reads.
type memberAnswer struct {
	ID      string `json:"id"`
	Points  int64  `json:"points"`
	Barcode string `json:"barcode"`
}

// enrol creates the members, min(concurrency, members) at a time.
func (l *loader) enrol(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(l.cfg.concurrency, len(l.members)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(l.members) || ctx.Err() != nil {
					return
				}
				body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("Load %s %d", l.runID, i+1)})
				a, err := l.call(ctx, http.MethodPost, "/api/v1/programs/"+url.PathEscape(l.cfg.program)+"/members", body, "")
				if err != nil {
					cancel(fmt.Errorf("enrol: %w", err))
					return
				}
				if a.status != http.StatusCreated {
					cancel(fmt.Errorf("enrol: %d %s: %s", a.status, a.code(), bytes.TrimSpace(a.body)))
					return
				}
				var m memberAnswer
				if err := json.Unmarshal(a.body, &m); err != nil || m.ID == "" || m.Barcode == "" {
					cancel(fmt.Errorf("enrol: answer without id or barcode: %.200s", a.body))
					return
				}
				l.members[i].id, l.members[i].barcode = m.ID, m.Barcode
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// earned is an acknowledged earn, kept for replays.
type earned struct {
	member *loadMember
	key    string
	body   []byte
	txID   string
}

// opStats are the outcomes of one operation in one worker.
type opStats struct {
	lat      []time.Duration // every answered request, and failures
	ok       int64
	expected int64 // outcomes that are not success but correct: a redeem past the balance
	errs     map[string]int64
}

func (s *opStats) fail(lat time.Duration, why string) {
	s.lat = append(s.lat, lat)
	if s.errs == nil {
		s.errs = map[string]int64{}
	}
	s.errs[why]++
}

type workerStats [numOps]opStats

// run starts the workers and waits for them; it answers their stats and
// how long they ran (in-flight requests finish after the deadline and count).
func (l *loader) run(ctx context.Context) ([]*workerStats, time.Duration) {
	start := time.Now()
	l.deadline = start.Add(l.cfg.duration)
	stats := make([]*workerStats, l.cfg.concurrency)
	var wg sync.WaitGroup
	for w := range stats {
		stats[w] = &workerStats{}
		wg.Go(func() { l.worker(ctx, w, stats[w]) })
	}
	wg.Wait()
	return stats, time.Since(start)
}

func (l *loader) pick(rng *mrand.Rand) loadOp {
	n := rng.IntN(l.weights)
	for o := range numOps {
		if n < l.cfg.mix[o] {
			return o
		}
		n -= l.cfg.mix[o]
	}
	return opEarn
}

type txAnswer struct {
	Transaction struct {
		ID     string `json:"id"`
		Points int64  `json:"points"`
	} `json:"transaction"`
}

func (l *loader) worker(ctx context.Context, w int, st *workerStats) {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	rng := mrand.New(mrand.NewChaCha8(seed))
	history := make([]earned, 0, loadReplayHistory)
	seq := 0
	for ctx.Err() == nil && time.Now().Before(l.deadline) {
		if l.cfg.requests > 0 && l.issued.Add(1) > l.cfg.requests {
			return
		}
		op := l.pick(rng)
		if op == opReplay && len(history) == 0 {
			op = opEarn
		}
		m := &l.members[rng.IntN(len(l.members))]
		var (
			path, key string
			body      []byte
			prev      earned
		)
		switch op {
		case opEarn, opRedeem:
			seq++
			key = fmt.Sprintf("%s-%d-%d", l.runID, w, seq)
			typ, pts := "earn", 1+rng.Int64N(100)
			if op == opRedeem {
				typ, pts = "redeem", 1+rng.Int64N(20)
			}
			body, _ = json.Marshal(map[string]any{"type": typ, "points": pts, "reference": loadReference})
			path = "/api/v1/members/" + m.id + "/transactions"
		case opReplay:
			prev = history[rng.IntN(len(history))]
			m, key, body = prev.member, prev.key, prev.body
			path = "/api/v1/members/" + m.id + "/transactions"
		case opScan:
			body, _ = json.Marshal(map[string]string{"barcode": m.barcode})
			path = "/api/v1/pos/scan"
		}
		t := time.Now()
		a, err := l.call(ctx, http.MethodPost, path, body, key)
		lat := time.Since(t)
		s := &st[op]
		if err != nil {
			if op != opScan {
				m.unsure.Store(true)
			}
			if ctx.Err() != nil {
				return // interrupted: the request is neither a success nor an error of passd
			}
			s.fail(lat, transportError(err))
			continue
		}
		if a.status >= 500 && op != opScan {
			m.unsure.Store(true)
		}
		switch op {
		case opEarn, opRedeem:
			var tx txAnswer
			switch {
			case a.status == http.StatusCreated && json.Unmarshal(a.body, &tx) == nil && tx.Transaction.ID != "":
				m.acked.Add(tx.Transaction.Points)
				m.entries.Add(1)
				s.ok++
				s.lat = append(s.lat, lat)
				if op == opEarn {
					e := earned{member: m, key: key, body: body, txID: tx.Transaction.ID}
					if len(history) < loadReplayHistory {
						history = append(history, e)
					} else {
						history[seq%loadReplayHistory] = e
					}
				}
			case op == opRedeem && a.status == http.StatusConflict && a.code() == "insufficient_points":
				s.expected++
				s.lat = append(s.lat, lat)
			default:
				s.fail(lat, statusError(a))
			}
		case opReplay:
			var tx txAnswer
			switch {
			case a.status != http.StatusCreated:
				s.fail(lat, statusError(a))
			case json.Unmarshal(a.body, &tx) != nil || tx.Transaction.ID != prev.txID:
				s.fail(lat, "replay answered another transaction")
			default:
				s.ok++
				s.lat = append(s.lat, lat)
			}
		case opScan:
			var got memberAnswer
			switch {
			case a.status != http.StatusOK:
				s.fail(lat, statusError(a))
			case json.Unmarshal(a.body, &got) != nil || got.ID != m.id:
				s.fail(lat, "scan answered another member")
			default:
				s.ok++
				s.lat = append(s.lat, lat)
			}
		}
	}
}

// statusError names an unexpected answer by status and problem code.
func statusError(a answer) string {
	if c := a.code(); c != "" {
		return strconv.Itoa(a.status) + " " + c
	}
	return strconv.Itoa(a.status) + " " + http.StatusText(a.status)
}

// transportError names a request that got no answer, without its URL (which
// holds a member id), so that equal failures count together.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "no answer: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "no answer: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "no answer: connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "no answer: connection closed"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "no answer: " + err.Error()
}

// check verifies every member: points equal the sum of its transactions
// (the server's invariant), and, unless a write's outcome was unknown, the
// transactions are exactly those the server acknowledged (no double credit
// from a replay, no lost write).
func (l *loader) check(ctx context.Context) consistencyReport {
	t0 := time.Now()
	var (
		mu  sync.Mutex
		rep = consistencyReport{Members: len(l.members)}
	)
	note := func(detail string, mismatch bool) {
		mu.Lock()
		defer mu.Unlock()
		if mismatch {
			rep.Mismatches++
		} else {
			rep.CheckErrors++
		}
		if len(rep.Details) < loadMaxDetails {
			rep.Details = append(rep.Details, detail)
		}
	}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(l.cfg.concurrency, len(l.members)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(l.members) {
					return
				}
				m := &l.members[i]
				points, sum, n, err := l.ledger(ctx, m.id)
				if err != nil {
					note(fmt.Sprintf("member %s: %v", m.id, err), false)
					continue
				}
				mu.Lock()
				rep.Entries += n
				if m.unsure.Load() {
					rep.Unsure++
				}
				mu.Unlock()
				switch {
				case points != sum:
					note(fmt.Sprintf("member %s: points %d, sum of its %d transactions %d", m.id, points, n, sum), true)
				case !m.unsure.Load() && (sum != m.acked.Load() || n != m.entries.Load()):
					note(fmt.Sprintf("member %s: %d transactions summing to %d, but the server acknowledged %d summing to %d",
						m.id, n, sum, m.entries.Load(), m.acked.Load()), true)
				}
			}
		})
	}
	wg.Wait()
	sort.Strings(rep.Details)
	rep.Seconds = time.Since(t0).Seconds()
	return rep
}

// ledgerTries bounds how often ledger reads a member's ledger again when
// it moved while being read.
const ledgerTries = 5

// ledger answers a member's points and the sum and number of its
// transactions, read page by page, as one consistent view: the points are
// read before and after the pages, and the whole is read again when they
// differ. A write whose client gave up (an interrupted run) may still
// commit on the server just after the run ends; without this its entry
// could land between the reads and look like a mismatch.
func (l *loader) ledger(ctx context.Context, id string) (points, sum, n int64, err error) {
	before, err := l.points(ctx, id)
	for range ledgerTries {
		if err != nil {
			return 0, 0, 0, err
		}
		sum, n, err = l.entries(ctx, id)
		if err != nil {
			return 0, 0, 0, err
		}
		after, err2 := l.points(ctx, id)
		if err2 == nil && after == before {
			return after, sum, n, nil
		}
		before, err = after, err2
	}
	return 0, 0, 0, fmt.Errorf("the ledger kept moving over %d reads", ledgerTries)
}

// points reads a member's balance.
func (l *loader) points(ctx context.Context, id string) (int64, error) {
	a, err := l.call(ctx, http.MethodGet, "/api/v1/members/"+id, nil, "")
	if err != nil {
		return 0, err
	}
	var m memberAnswer
	if a.status != http.StatusOK || json.Unmarshal(a.body, &m) != nil {
		return 0, fmt.Errorf("GET member: %s", statusError(a))
	}
	return m.Points, nil
}

// entries reads the sum and number of a member's transactions, page by page.
func (l *loader) entries(ctx context.Context, id string) (sum, n int64, err error) {
	cursor := ""
	for {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		a, err := l.call(ctx, http.MethodGet, "/api/v1/members/"+id+"/transactions?"+q.Encode(), nil, "")
		if err != nil {
			return 0, 0, err
		}
		var page struct {
			Items []struct {
				Points int64 `json:"points"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if a.status != http.StatusOK || json.Unmarshal(a.body, &page) != nil {
			return 0, 0, fmt.Errorf("list transactions: %s", statusError(a))
		}
		for _, it := range page.Items {
			sum += it.Points
		}
		n += int64(len(page.Items))
		if page.NextCursor == "" {
			return sum, n, nil
		}
		if page.NextCursor == cursor || len(page.Items) == 0 {
			return 0, 0, errors.New("list transactions: the cursor does not advance")
		}
		cursor = page.NextCursor
	}
}

// loadReport is what passctl load prints; --json prints it as is.
type loadReport struct {
	URL          string            `json:"url"`
	Program      string            `json:"program"`
	Members      int               `json:"members"`
	Concurrency  int               `json:"concurrency"`
	Mix          map[string]int    `json:"mix"`
	SetupSeconds float64           `json:"setup_seconds"`
	Seconds      float64           `json:"seconds"`
	Stopped      string            `json:"stopped"` // duration, requests or interrupted
	Ops          []opReport        `json:"ops"`
	Total        opReport          `json:"total"`
	Consistency  consistencyReport `json:"consistency"`
}

// opReport sums one operation (or all) over the workers. Latencies cover
// every counted request, failed ones included.
type opReport struct {
	Op       string           `json:"op"`
	Count    int64            `json:"count"`
	OK       int64            `json:"ok"`
	Expected int64            `json:"expected"`
	Errors   int64            `json:"errors"`
	ErrorsBy map[string]int64 `json:"errors_by,omitempty"`
	RPS      float64          `json:"requests_per_second"`
	P50ms    float64          `json:"p50_ms"`
	P90ms    float64          `json:"p90_ms"`
	P99ms    float64          `json:"p99_ms"`
	MaxMs    float64          `json:"max_ms"`
}

// consistencyReport is the ledger check after the run.
type consistencyReport struct {
	Members int   `json:"members"`
	Entries int64 `json:"entries"`
	// Unsure members had a write with an unknown outcome; only points ==
	// sum(transactions) is checked for them.
	Unsure      int      `json:"unsure"`
	Mismatches  int      `json:"mismatches"`
	CheckErrors int      `json:"check_errors"`
	Details     []string `json:"details,omitempty"`
	Seconds     float64  `json:"seconds"`
}

func (r *loadReport) summarize(stats []*workerStats, elapsed time.Duration) {
	var all []time.Duration
	r.Total = opReport{Op: "total"}
	for o := range numOps {
		op := opReport{Op: o.String()}
		var lat []time.Duration
		for _, w := range stats {
			s := &w[o]
			lat = append(lat, s.lat...)
			op.OK += s.ok
			op.Expected += s.expected
			for k, v := range s.errs {
				if op.ErrorsBy == nil {
					op.ErrorsBy = map[string]int64{}
				}
				op.ErrorsBy[k] += v
				op.Errors += v
			}
		}
		op.Count = int64(len(lat))
		if op.Count == 0 && r.Mix[op.Op] == 0 {
			continue
		}
		op.latencies(lat, elapsed)
		r.Ops = append(r.Ops, op)
		all = append(all, lat...)
		r.Total.OK += op.OK
		r.Total.Expected += op.Expected
		r.Total.Errors += op.Errors
		for k, v := range op.ErrorsBy {
			if r.Total.ErrorsBy == nil {
				r.Total.ErrorsBy = map[string]int64{}
			}
			r.Total.ErrorsBy[op.Op+": "+k] += v
		}
	}
	r.Total.Count = int64(len(all))
	r.Total.latencies(all, elapsed)
}

// latencies sets the rate and the nearest-rank percentiles; it sorts lat.
func (op *opReport) latencies(lat []time.Duration, elapsed time.Duration) {
	if elapsed > 0 {
		op.RPS = math.Round(float64(len(lat))/elapsed.Seconds()*10) / 10
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	pct := func(p float64) time.Duration {
		return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)]
	}
	op.P50ms, op.P90ms, op.P99ms, op.MaxMs = ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(lat[len(lat)-1])
}

func (r *loadReport) writeText(w io.Writer) {
	mix := make([]string, 0, len(r.Mix))
	for o := range numOps {
		if n, ok := r.Mix[o.String()]; ok {
			mix = append(mix, fmt.Sprintf("%s=%d", o, n))
		}
	}
	fmt.Fprintf(w, "passctl load %s, program %s: %d members, %d workers, mix %s\n",
		r.URL, r.Program, r.Members, r.Concurrency, strings.Join(mix, ","))
	fmt.Fprintf(w, "setup %.2fs (not timed); run %.2fs, stopped by %s\n\n", r.SetupSeconds, r.Seconds, r.Stopped)
	fmt.Fprintf(w, "%-7s %9s %9s %9s %7s %9s %9s %9s %9s %9s\n",
		"op", "count", "ok", "expected", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, op := range append(slices.Clone(r.Ops), r.Total) {
		fmt.Fprintf(w, "%-7s %9d %9d %9d %7d %9.1f %9.2f %9.2f %9.2f %9.2f\n",
			op.Op, op.Count, op.OK, op.Expected, op.Errors, op.RPS, op.P50ms, op.P90ms, op.P99ms, op.MaxMs)
	}
	if len(r.Total.ErrorsBy) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		keys := make([]string, 0, len(r.Total.ErrorsBy))
		for k := range r.Total.ErrorsBy {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-50s %d\n", k, r.Total.ErrorsBy[k])
		}
	}
	c := r.Consistency
	fmt.Fprintf(w, "\nconsistency: %d members, %d transactions, %d mismatches", c.Members, c.Entries, c.Mismatches)
	if c.CheckErrors > 0 {
		fmt.Fprintf(w, ", %d not checked", c.CheckErrors)
	}
	if c.Unsure > 0 {
		fmt.Fprintf(w, " (%d with an unknown write outcome: points == sum only)", c.Unsure)
	}
	fmt.Fprintf(w, " in %.2fs\n", c.Seconds)
	for _, d := range c.Details {
		fmt.Fprintln(w, "  "+d)
	}
}
