package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/passkit"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// The "Live Apple cards" benchmarks: one merchant message to a program of
// benchDevices members, each with one iPhone registered for pushes, through
// a whole passd on loopback (HTTP API, store, sync engine, APNs client) and
// the mock APNs (TLS with passd's client certificate, HTTP/2). Then every
// device fetches its changed pass from the PassKit web service, as Wallet
// does after the push; each fetch signs once (the pass changed), so the
// ceiling is the raw RSA-2048 signing rate with the same key, measured in
// the same run on the same cores.
const (
	benchDevices = 10_000
	// benchFetchers is how many devices fetch at once: enough to keep
	// every core signing while others wait on the network.
	benchFetchers = 16
	// benchSetupWorkers insert the members and registrations.
	benchSetupWorkers = 16
	// benchFetchSlice devices fetch, then benchSigns*benchFetchSlice/
	// benchDevices raw signatures are timed, and so on: benchSigns raw
	// signatures per iteration, interleaved with the fetches in slices of
	// a fraction of a second, so that both figures see the same swings in
	// the machine's speed (a shared VM's vary by tens of percent within
	// a minute).
	benchFetchSlice = 250
	benchSigns      = 2_000
	// benchWait bounds each wait for passd: a stuck engine fails the
	// benchmark instead of hanging it.
	benchWait = 3 * time.Minute
)

// BenchmarkMessageFanout reports, per merchant message to benchDevices
// devices:
//   - pushes/s: pushes the mock APNs received, from the first to the last
//     (the fan-out rate; goal >= 5,000);
//   - e2e-pushes/s and first-push-ms: the same from the moment the message
//     was posted, so including the sync debounce (server.DefaultSyncDebounce)
//     and the engine's wake-up;
//   - fetches/s: passes fetched through the PassKit web service with every
//     device's token, each one signed afresh;
//   - signs/s: raw RSA-2048 PKCS#1 v1.5 signatures with passd's key on all
//     cores, and fetch/sign-%, fetches/s as a percentage of it (goal >= 85);
//   - builds/s: the same cards built and signed through passd's card
//     service (what a fetch does besides HTTP and the member read), and
//     fetch/build-%, fetches/s as a percentage of it;
//   - pg-cpu-us/fetch (PostgreSQL): the database's own CPU per fetch. It
//     runs on the same cores, so it comes out of the fetch rate;
//   - lists/s: what Wallet asks before it fetches, the device's updated
//     serials since its last tag (each answering the device's one pass),
//     timed after the fetches, on the same connections.
//
// Run it with -benchtime Nx: each iteration is one message and 10,000
// fetches.
func BenchmarkMessageFanout(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) { benchMessageFanout(b, "") })
	b.Run("store=postgres", func(b *testing.B) { benchMessageFanout(b, testpg.FreshSchema(b)) })
	// The same PostgreSQL through its Unix socket, as passd on the
	// database's own host would reach it: a query costs both sides less
	// than over loopback TCP.
	b.Run("store=postgres-unix", func(b *testing.B) {
		u, ok := testpg.UnixSocketURL(b)
		if !ok {
			b.Skip("PASSD_TEST_PG_SOCKET_DIR is not set: run under scripts/with-postgres.sh")
		}
		benchMessageFanout(b, u)
	})
}

func benchMessageFanout(b *testing.B, databaseURL string) {
	p := newBenchPassd(b, databaseURL)
	ctx := b.Context()
	var (
		pushes, fetches, signs                  int
		pushTime, e2eTime, firstPush, fetchTime time.Duration
		signTime, dbTime, buildTime, listTime   time.Duration
		builds, lists                           int
	)
	i := 0
	for b.Loop() {
		i++
		// One merchant message: every card of the program changes.
		base := len(p.mock.Pushes())
		posted := time.Now()
		p.postMessage(b, fmt.Sprintf("Double points, round %d!", i))
		wctx, cancel := context.WithTimeout(ctx, benchWait)
		err := p.mock.WaitFor(wctx, base+benchDevices)
		cancel()
		if err != nil {
			b.Fatalf("fan-out: %v", err)
		}
		// Let the engine record every delivery before the devices come,
		// so the fetch figure is not shared with the fan-out's tail; then
		// check that each device got exactly one push.
		p.waitSynced(b)
		first, last := p.checkPushes(b, base)
		pushes += benchDevices
		pushTime += last.Sub(first)
		e2eTime += last.Sub(posted)
		firstPush += first.Sub(posted)

		// The devices fetch in slices, each followed by a slice of raw
		// signatures, so that both figures see the same machine load.
		for lo := 0; lo < len(p.devices); lo += benchFetchSlice {
			// The database's CPU is counted over the fetches only: the
			// builds below read members too.
			db0 := testpg.ServerCPU()
			fetchTime += p.fetchAll(b, p.devices[lo:min(lo+benchFetchSlice, len(p.devices))])
			dbTime += testpg.ServerCPU() - db0
			n := benchSigns * benchFetchSlice / len(p.devices)
			signTime += p.rawSigns(b, n)
			signs += n
			buildTime += p.passBuilds(b, n, signs)
			builds += n
		}
		fetches += len(p.devices)
		// What Wallet asks first after a push: which of its passes
		// changed since its tag. Timed on its own.
		listTime += p.listAll(b)
		lists += len(p.devices)
	}
	b.ReportMetric(float64(pushes)/pushTime.Seconds(), "pushes/s")
	b.ReportMetric(float64(pushes)/e2eTime.Seconds(), "e2e-pushes/s")
	b.ReportMetric(float64(firstPush.Milliseconds())/float64(b.N), "first-push-ms")
	fetchRate := float64(fetches) / fetchTime.Seconds()
	signRate := float64(signs) / signTime.Seconds()
	b.ReportMetric(fetchRate, "fetches/s")
	b.ReportMetric(signRate, "signs/s")
	b.ReportMetric(100*fetchRate/signRate, "fetch/sign-%")
	buildRate := float64(builds) / buildTime.Seconds()
	b.ReportMetric(buildRate, "builds/s")
	b.ReportMetric(100*fetchRate/buildRate, "fetch/build-%")
	b.ReportMetric(float64(lists)/listTime.Seconds(), "lists/s")
	if databaseURL != "" {
		// The database shares the cores: its CPU per fetch (the member
		// read) is part of why a fetch costs more than a signature.
		b.ReportMetric(float64(dbTime.Microseconds())/float64(fetches), "pg-cpu-us/fetch")
	}
}

// benchPassd is a running passd with benchDevices registered devices, and
// the mock APNs it pushes to.
type benchPassd struct {
	srv *server.Server // nil when passd is a child process
	pid int            // the child process, or 0
	// channels are those passd delivers on, which waitSynced waits for.
	channels []string
	url      string
	mock     *apnstest.Server
	key      crypto.Signer
	devices  []benchDevice
	client   *http.Client
}

type benchDevice struct {
	serial, authToken, pushToken string
	// deviceID is the device's library identifier; tag is the
	// lastUpdated its last list of updated serials answered.
	deviceID, tag string
}

// newBenchPassd prepares a data folder with development certificates, a
// mock APNs that trusts their CA, and benchDevices members each with one
// registered device (through the store, untimed), then starts passd and
// waits until it has pushed the new cards once, which also opens its APNs
// connection.
func newBenchPassd(b testing.TB, databaseURL string) *benchPassd {
	return startBenchPassd(b, databaseURL, benchConfig{cards: benchDevices})
}

// benchConfig varies startBenchPassd's passd.
type benchConfig struct {
	cards int // members, each with a registered device
	// binary, when set, is a passd executable run as a child process
	// (its memory then its own, see procStatus); otherwise passd runs in
	// the test's process.
	binary string
	// google, when set, turns Google Wallet on against this fake (in
	// process only), its calls paced as passd paces them unless
	// googleUnpaced.
	google        *wallettest.Server
	googleUnpaced bool
}

// startBenchPassd is newBenchPassd as bc says.
func startBenchPassd(b testing.TB, databaseURL string, bc benchConfig) *benchPassd {
	b.Helper()
	ctx := b.Context()
	dir := b.TempDir()
	passTypeID := config.DefaultPassTypeID
	creds, err := passkit.GenerateDev(dir, passTypeID, config.DefaultTeamID, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	devCA := x509.NewCertPool()
	devCA.AddCert(creds.WWDR)
	mock := apnstest.NewServer(b, apnstest.Options{ClientCAs: devCA, Topic: passTypeID})
	caFile := filepath.Join(dir, "apns-ca.pem")
	if err := os.WriteFile(caFile, mock.CAPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{
		"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": dir, "PASSD_BOOTSTRAP_ADMIN_KEY": adminKey,
		"PASSD_APNS_URL": mock.URL, "PASSD_APNS_CA": caFile, "PASSD_DATABASE_URL": databaseURL,
	}
	n, binary := bc.cards, bc.binary
	if binary != "" {
		env["PASSD_ADDR"] = freeLoopbackAddr(b)
	}
	opts := server.Options{}
	if bc.google != nil {
		env["PASSD_PUBLIC_URL"] = googlePublicURL
		env["PASSD_GOOGLE_ISSUER_ID"] = wallettest.IssuerID
		env["PASSD_GOOGLE_CREDENTIALS"] = bc.google.WriteCredentials(b)
		env["PASSD_GOOGLE_API_URL"] = bc.google.URL
		// The fake's client, with the idle connections passd keeps for
		// Google of its own (googleMaxIdleConns).
		tr := bc.google.HTTPClient().Transport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		opts.GoogleHTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		if bc.googleUnpaced {
			opts.GoogleRequestsPerSecond = -1
		}
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	devices := populate(b, cfg, passTypeID, n)
	b.Logf("setup: %d members and registrations in %v", len(devices), time.Since(start).Round(time.Millisecond))

	p := &benchPassd{mock: mock, key: creds.Key, devices: devices, channels: []string{loyalty.ChannelApple},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchFetchers, MaxConnsPerHost: benchFetchers}}}
	if bc.google != nil {
		p.channels = append(p.channels, loyalty.ChannelGoogle)
	}
	if binary != "" {
		p.url, p.pid = runChildPassd(b, binary, env, filepath.Join(dir, "passd.log"))
	} else {
		log := slog.New(slog.DiscardHandler) // -v would otherwise log every request
		s, err := server.New(ctx, cfg, log, opts)
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()
		b.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				b.Errorf("Run() = %v", err)
			}
		})
		p.srv, p.url = s, s.URL()
	}
	b.Cleanup(p.client.CloseIdleConnections)

	start = time.Now()
	wctx, wcancel := context.WithTimeout(ctx, benchWait)
	defer wcancel()
	if err := mock.WaitFor(wctx, n); err != nil {
		b.Fatalf("first pushes of the new cards: %v", err)
	}
	p.waitSynced(b)
	p.checkPushes(b, 0)
	// Each device lists its passes once, as Wallet does on registering,
	// for the tag its next list starts from.
	p.listAll(b)
	b.Logf("warm-up: the new cards pushed and recorded, and listed, in %v", time.Since(start).Round(time.Millisecond))
	return p
}

// populate stores n members of the demo program, each with one device
// registered for its pass, straight through the store.
func populate(b testing.TB, cfg config.Config, passTypeID string, n int) []benchDevice {
	b.Helper()
	ctx := b.Context()
	programs, err := server.LoadPrograms(cfg)
	if err != nil {
		b.Fatal(err)
	}
	prog, err := programs.Get("demo")
	if err != nil {
		b.Fatal(err)
	}
	// The set-up's writers wait their turn however long the machine makes
	// them (SQLite has one writer, and a loaded machine's fsyncs are
	// slow): a lock timeout meant for tills has no business failing it.
	opts := store.Options{Logger: slog.New(slog.DiscardHandler), LockTimeout: 5 * time.Minute}
	var st *store.Store
	stage := cfg.DataDir
	if cfg.DatabaseURL != "" {
		st, err = store.OpenPostgres(ctx, cfg.DatabaseURL, opts)
	} else {
		// SQLite commits one writer at a time, each with an fsync: 20,000
		// of them take half a minute on a disk. The database is built in
		// memory when it can be (/dev/shm) and then copied into the data
		// folder, where passd runs with its usual durability.
		stage = sqliteStage(b, cfg.DataDir)
		st, err = store.OpenSQLite(ctx, filepath.Join(stage, "passd.db"), opts)
	}
	if err != nil {
		b.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			st.Close()
		}
	}()

	devices := make([]benchDevice, n)
	timeWorkers(b, "populate", benchSetupWorkers, len(devices), func(_, i int) error {
		token, err := loyalty.NewAuthToken()
		if err != nil {
			return err
		}
		// A referral code, as enrolment gives one: without it passd's
		// start would give each member one, a transaction apiece.
		code, err := loyalty.NewReferralCode()
		if err != nil {
			return err
		}
		m := loyalty.Member{ID: uuid.NewString(), Program: prog.ID, Number: fmt.Sprintf("%09d", 100_000_000+i),
			Name: fmt.Sprintf("Bench Member %d", i), AuthToken: token, ReferralCode: code}
		if err := st.CreateMember(ctx, m, balances.NewAccount(prog.Rules())); err != nil {
			return err
		}
		d := benchDevice{serial: m.ID, authToken: token, pushToken: fmt.Sprintf("%064x", i+1),
			deviceID: fmt.Sprintf("benchdevice%06d", i)}
		if _, err := st.Register(ctx, loyalty.Registration{DeviceID: d.deviceID,
			PushToken: d.pushToken, PassTypeID: passTypeID, MemberID: m.ID}); err != nil {
			return err
		}
		devices[i] = d
		return nil
	})
	closed = true
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if stage != cfg.DataDir {
		// Closed, so the WAL is checkpointed; copy what is there.
		for _, f := range []string{"passd.db", "passd.db-wal"} {
			data, err := os.ReadFile(filepath.Join(stage, f))
			if errors.Is(err, fs.ErrNotExist) && f != "passd.db" {
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cfg.DataDir, f), data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	return devices
}

// sqliteStage answers a folder in /dev/shm, removed by b's cleanup, or
// dataDir when there is no /dev/shm.
func sqliteStage(b testing.TB, dataDir string) string {
	b.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return dataDir
	}
	stage, err := os.MkdirTemp("/dev/shm", "passd-bench-")
	if err != nil {
		return dataDir
	}
	b.Cleanup(func() { os.RemoveAll(stage) })
	return stage
}

// checkPushes checks that the pushes from index base on are one 200 to
// every device and answers when the first and the last arrived.
func (p *benchPassd) checkPushes(b testing.TB, base int) (first, last time.Time) {
	b.Helper()
	got := p.mock.Pushes()[base:]
	if len(got) != len(p.devices) {
		b.Fatalf("%d pushes, want %d (one per device)", len(got), len(p.devices))
	}
	seen := make(map[string]bool, len(got))
	for _, push := range got {
		if push.Status != http.StatusOK {
			b.Fatalf("push to %s answered %d %s", push.Token, push.Status, push.Reason)
		}
		seen[push.Token] = true
	}
	if len(seen) != len(p.devices) {
		b.Fatalf("pushes reached %d devices, want %d", len(seen), len(p.devices))
	}
	return got[0].Time, got[len(got)-1].Time
}

// waitSynced waits until the engine has recorded every delivery. A
// passd in a child process is not asked: its store is its own.
func (p *benchPassd) waitSynced(b testing.TB) {
	b.Helper()
	if p.srv == nil {
		return
	}
	deadline := time.Now().Add(benchWait)
	for {
		var waiting int64
		for _, ch := range p.channels {
			w, _, errored, err := p.srv.Store.SyncStats(b.Context(), ch)
			if err != nil {
				b.Fatal(err)
			}
			if errored > 0 {
				b.Fatalf("%d cards in the %s sync error state", errored, ch)
			}
			waiting += w
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d cards still waiting for delivery after %v", waiting, benchWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fetchAll has devices fetch their pass, benchFetchers at a time, as
// Wallet does after a push, and answers how long it took. Each fetcher is
// a plain HTTP/1.1 client on one kept-alive connection (a request written,
// the answer read and checked, then the next), so that little of the CPU
// the fetches share with passd goes to the load generator: net/http's
// client hands every request between three goroutines.
func (p *benchPassd) fetchAll(b testing.TB, devices []benchDevice) time.Duration {
	b.Helper()
	return p.onDevices(b, "fetch", len(devices), func(c *fetchConn, i int) error { return c.fetch(devices[i]) })
}

// onDevices has benchFetchers device connections do items 0 to n-1
// between them, and answers how long it took.
func (p *benchPassd) onDevices(b testing.TB, what string, n int, do func(c *fetchConn, item int) error) time.Duration {
	b.Helper()
	conns := make([]*fetchConn, benchFetchers)
	for i := range conns {
		c, err := p.dialFetch()
		if err != nil {
			b.Fatal(err)
		}
		defer c.conn.Close()
		conns[i] = c
	}
	return timeWorkers(b, what, len(conns), n, func(w, i int) error { return do(conns[w], i) })
}

// timeWorkers has workers goroutines do items 0 to n-1 between them, each
// item once, and answers how long it took; the first error fails b.
func timeWorkers(b testing.TB, what string, workers, n int, do func(worker, item int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var failed firstError
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for failed.get() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				failed.set(do(w, i))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := failed.get(); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	return elapsed
}

// listAll has every device list its updated serials since its tag, on
// benchFetchers connections, and answers how long it took.
func (p *benchPassd) listAll(b testing.TB) time.Duration {
	b.Helper()
	return p.onDevices(b, "list", len(p.devices), func(c *fetchConn, i int) error { return c.list(&p.devices[i]) })
}

// fetchConn is one device-side HTTP/1.1 connection to passd.
type fetchConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	host string
}

func (p *benchPassd) dialFetch() (*fetchConn, error) {
	host := strings.TrimPrefix(p.url, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	return &fetchConn{conn: conn, r: bufio.NewReaderSize(conn, 32<<10), w: bufio.NewWriter(conn), host: host}, nil
}

// fetch asks for d's pass as Wallet does and checks the answer: 200, a
// non-empty pkpass with its Last-Modified.
func (c *fetchConn) fetch(d benchDevice) error {
	_, err := c.fetchPass(d, false)
	return err
}

// fetchPass is fetch, answering the pass when keep is set.
func (c *fetchConn) fetchPass(d benchDevice, keep bool) ([]byte, error) {
	path := "/passkit/v1/passes/" + config.DefaultPassTypeID + "/" + d.serial
	fmt.Fprintf(c.w, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: ApplePass %s\r\nUser-Agent: Passbook/1.0 CFNetwork/1410.0.3 Darwin/22.6.0\r\n\r\n",
		path, c.host, d.authToken)
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	sink := io.Discard
	if keep {
		sink = &body
	}
	n, err := io.Copy(sink, res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || n == 0 || n != res.ContentLength || res.Header.Get("Last-Modified") == "" {
		return nil, fmt.Errorf("GET %s = %d (%d bytes, Last-Modified %q), want 200 with a pass", path, res.StatusCode, n, res.Header.Get("Last-Modified"))
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.apple.pkpass") {
		return nil, fmt.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if res.Close {
		return nil, fmt.Errorf("GET %s: passd closed the connection", path)
	}
	return body.Bytes(), nil
}

// list asks which of d's passes changed since d's tag, as Wallet does
// after a push, checks that the answer is d's one pass, and keeps the new
// tag.
func (c *fetchConn) list(d *benchDevice) error {
	path := "/passkit/v1/devices/" + d.deviceID + "/registrations/" + config.DefaultPassTypeID
	if d.tag != "" {
		path += "?passesUpdatedSince=" + url.QueryEscape(d.tag)
	}
	fmt.Fprintf(c.w, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Passbook/1.0 CFNetwork/1410.0.3 Darwin/22.6.0\r\n\r\n", path, c.host)
	if err := c.w.Flush(); err != nil {
		return err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	var body struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   string   `json:"lastUpdated"`
	}
	err = json.NewDecoder(res.Body).Decode(&body)
	io.Copy(io.Discard, res.Body) //nolint:errcheck
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil {
		return fmt.Errorf("GET %s = %d (%v), want 200 with serials", path, res.StatusCode, err)
	}
	if len(body.SerialNumbers) != 1 || body.SerialNumbers[0] != d.serial || body.LastUpdated == "" {
		return fmt.Errorf("GET %s = %v, tag %q; want [%s] and a tag", path, body.SerialNumbers, body.LastUpdated, d.serial)
	}
	d.tag = body.LastUpdated
	return nil
}

// rawSigns times n RSA-2048 PKCS#1 v1.5 SHA-256 signatures with passd's
// pass key, spread over GOMAXPROCS goroutines: the ceiling of fetches that
// each sign once.
func (p *benchPassd) rawSigns(b *testing.B, n int) time.Duration {
	b.Helper()
	digest := sha256.Sum256([]byte("manifest"))
	return timeWorkers(b, "sign", runtime.GOMAXPROCS(0), n, func(int, int) error {
		_, err := p.key.Sign(rand.Reader, digest[:], crypto.SHA256)
		return err
	})
}

// passBuilds times n passes built and signed by passd's card service, on
// GOMAXPROCS goroutines, for devices' members as the fetches just read
// them. Each build is of a pass version never signed before (from 1<<40
// + salt on), so none is answered from the cache of signed passes.
func (p *benchPassd) passBuilds(b *testing.B, n, salt int) time.Duration {
	b.Helper()
	ctx := b.Context()
	rows := make([]loyalty.MemberRow, n)
	for i := range rows {
		m, err := p.srv.Store.Member(ctx, p.devices[i%len(p.devices)].serial)
		if err != nil {
			b.Fatal(err)
		}
		m.Account.PassVersion = 1<<40 + int64(salt) + int64(i)
		rows[i] = m
	}
	return timeWorkers(b, "build", runtime.GOMAXPROCS(0), n, func(_, i int) error {
		_, _, err := p.srv.Cards.Bundle(ctx, rows[i])
		return err
	})
}

// postMessage posts a merchant message to every card of the demo program.
func (p *benchPassd) postMessage(b testing.TB, text string) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"text": text})
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, p.url+"/api/v1/programs/demo/messages", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := p.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		b.Fatalf("post message: %d %s", res.StatusCode, answer)
	}
}

// firstError keeps the first non-nil error set by concurrent workers.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
