package server_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/passkit"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// A merchant message reaching every card, as phones see it: passd pushes
// each device, and each device, as its push arrives, asks which of its
// passes changed and fetches the new pass. BenchmarkMessage100k times it
// from the POST to the last fetch on 100,000 cards, with a till earning
// meanwhile and passd's memory read from /proc; TestMessageReachesEveryCard
// runs the same on fewer cards as a test of correctness, without timing.

// messageCards is the benchmark's number of cards; PASSD_BENCH_CARDS sets
// another.
const messageCards = 100_000

// TestMessageReachesEveryCard: every device is pushed once, lists its
// pass, and fetches a pass that carries the message, while a till earns.
// 10,000 cards (make test runs it so in its pass without the race
// detector), or 1,000 with -race or -short.
func TestMessageReachesEveryCard(t *testing.T) {
	t.Parallel()
	n := 10_000
	if raceDetector || testing.Short() {
		n = 1_000
	}
	stores := map[string]func(testing.TB) string{"sqlite": func(testing.TB) string { return "" }}
	if os.Getenv("PASSD_TEST_DATABASE_URL") != "" {
		stores["postgres"] = testpg.FreshSchema
	}
	for name, url := range stores {
		t.Run("store="+name, func(t *testing.T) {
			p := startBenchPassd(t, url(t), benchConfig{cards: n})
			r := p.messageRound(t, "Every card, round 1", true)
			if r.fetched != n || r.checked != n {
				t.Errorf("%d of %d devices fetched, %d passes checked for the message", r.fetched, n, r.checked)
			}
			if r.earns == 0 || r.earnErrors > 0 {
				t.Errorf("the till earned %d times with %d errors during the message, want some and none", r.earns, r.earnErrors)
			}
		})
	}
}

// BenchmarkMessage100k reports, for one merchant message to 100,000
// devices through passd run as its own process (built with this test's
// signer: go test -tags openssl selects OpenSSL's):
//   - message-s: from the POST to the last device's fetch (goal < 60);
//   - pushes/s and fetches/s over that time;
//   - earn-p50-ms, earn-p99-ms: one till's earns over HTTP meanwhile, one
//     every tillInterval (goal p99 < 200);
//   - rss-max-MB: passd's RSS, sampled every 100 ms during the message,
//     and rss-peak-MB, its high-water mark since start (goal < 100);
//     rss-anon-max-MB is the part that is passd's own memory, without the
//     pages of files it maps (SQLite's readers map the database).
func BenchmarkMessage100k(b *testing.B) {
	n := messageCards
	if v, err := strconv.Atoi(os.Getenv("PASSD_BENCH_CARDS")); err == nil && v > 0 {
		n = v
	}
	binary := buildPassd(b)
	b.Run("store=sqlite", func(b *testing.B) { benchMessage(b, "", n, binary) })
	b.Run("store=postgres", func(b *testing.B) { benchMessage(b, testpg.FreshSchema(b), n, binary) })
}

func benchMessage(b *testing.B, databaseURL string, n int, binary string) {
	p := startBenchPassd(b, databaseURL, benchConfig{cards: n, binary: binary})
	var total time.Duration
	var earns []time.Duration
	rssMax, anonMax := 0, 0
	i := 0
	for b.Loop() {
		i++
		r := p.messageRound(b, fmt.Sprintf("Double points, round %d!", i), false)
		total += r.elapsed
		earns = append(earns, r.earnTimes...)
		rssMax = max(rssMax, r.rssMax)
		anonMax = max(anonMax, r.anonMax)
	}
	secs := total.Seconds() / float64(b.N)
	b.ReportMetric(secs, "message-s")
	b.ReportMetric(float64(n)/secs, "fetches/s")
	slices.Sort(earns)
	b.ReportMetric(ms(percentile(earns, 0.50)), "earn-p50-ms")
	b.ReportMetric(ms(percentile(earns, 0.99)), "earn-p99-ms")
	b.ReportMetric(float64(len(earns))/total.Seconds(), "earns/s")
	b.ReportMetric(float64(rssMax)/(1<<20), "rss-max-MB")
	b.ReportMetric(float64(anonMax)/(1<<20), "rss-anon-max-MB")
	b.ReportMetric(float64(procStatus(p.pid, "VmHWM"))/(1<<20), "rss-peak-MB")
	b.Logf("%d cards, signer %s: %.1f s from the POST to the last fetch, earn p99 %.1f ms (%d earns), RSS max %.1f MB",
		n, passkit.SignerBackend(), secs, ms(percentile(earns, 0.99)), len(earns), float64(rssMax)/(1<<20))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile answers the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// roundResult is what one message round measured.
type roundResult struct {
	elapsed          time.Duration // from the POST to the last fetch
	fetched, checked int           // devices that fetched; passes seen to carry the message
	earnTimes        []time.Duration
	earns            int
	earnErrors       int
	rssMax           int // bytes, child process only
	anonMax          int // of which passd's own memory (not mapped files)
}

// messageRound posts text to every card, then has every device, as its
// push arrives, list its changed passes and fetch its pass, on
// benchFetchers connections, while one till earns over HTTP. It answers
// when the last device has fetched. With check, every fetched pass is
// opened and must carry the message; without, one in a hundred is.
func (p *benchPassd) messageRound(tb testing.TB, text string, check bool) roundResult {
	tb.Helper()
	// A bound for a stuck passd, not a goal: 5 ms a card on top of
	// benchWait leaves room for a loaded machine and the pure-Go signer.
	ctx, cancel := context.WithTimeout(tb.Context(), benchWait+time.Duration(len(p.devices))*5*time.Millisecond)
	defer cancel()
	byToken := make(map[string]int, len(p.devices))
	for i, d := range p.devices {
		byToken[d.pushToken] = i
	}
	queue := make(chan int, len(p.devices))
	pushed := make([]atomic.Bool, len(p.devices))
	p.mock.OnPush(func(push apnstest.Push) {
		if i, ok := byToken[push.Token]; ok && push.Status == http.StatusOK && !pushed[i].Swap(true) {
			queue <- i
		}
	})
	defer p.mock.OnPush(nil)

	var res roundResult
	stopSide := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() { res.earnTimes, res.earns, res.earnErrors = p.tillEarns(stopSide) })
	if p.pid != 0 {
		side.Go(func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				res.rssMax = max(res.rssMax, procStatus(p.pid, "VmRSS"))
				res.anonMax = max(res.anonMax, procStatus(p.pid, "RssAnon"))
				select {
				case <-stopSide:
					return
				case <-t.C:
				}
			}
		})
	}

	posted := time.Now()
	p.postMessage(tb, text)
	var fetched, checked atomic.Int64
	var failed firstError
	var workers sync.WaitGroup
	for range benchFetchers {
		c, err := p.dialFetch()
		if err != nil {
			tb.Fatal(err)
		}
		workers.Go(func() {
			defer c.conn.Close()
			for failed.get() == nil {
				var i int
				select {
				case i = <-queue:
				case <-ctx.Done():
					failed.set(fmt.Errorf("%d of %d devices fetched: %w", fetched.Load(), len(p.devices), ctx.Err()))
					return
				}
				d := &p.devices[i]
				if err := c.list(d); err != nil {
					failed.set(err)
					return
				}
				keep := check || i%100 == 0
				pass, err := c.fetchPass(*d, keep)
				if err == nil && keep {
					err = passCarries(pass, text)
					checked.Add(1)
				}
				if err != nil {
					failed.set(fmt.Errorf("device %d: %w", i, err))
					return
				}
				if fetched.Add(1) == int64(len(p.devices)) {
					cancel() // the last one: the others stop waiting
					return
				}
			}
		})
	}
	workers.Wait()
	res.elapsed = time.Since(posted)
	close(stopSide)
	side.Wait()
	res.fetched, res.checked = int(fetched.Load()), int(checked.Load())
	if res.fetched != len(p.devices) {
		if err := failed.get(); err != nil {
			tb.Fatal(err)
		}
		tb.Fatalf("%d of %d devices fetched", res.fetched, len(p.devices))
	}
	return res
}

// passCarries checks that a .pkpass's pass.json holds the message text.
func passCarries(pkpass []byte, text string) error {
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		return err
	}
	f, err := zr.Open("pass.json")
	if err != nil {
		return err
	}
	defer f.Close()
	var pass passkit.Pass
	if err := json.NewDecoder(f).Decode(&pass); err != nil {
		return err
	}
	if pass.StoreCard != nil {
		for _, bf := range pass.StoreCard.BackFields {
			if bf.Key == "message" && bf.Value.String() == text {
				return nil
			}
		}
	}
	return fmt.Errorf("pass %s does not carry the message %q", pass.SerialNumber, text)
}

// tillInterval paces the till: a busy shop's till, an earn every 50 ms
// at most (the next waits for the answer to the last).
const tillInterval = 50 * time.Millisecond

// tillEarns posts earns of 1 point for random members over HTTP, one at a
// time every tillInterval, each with a fresh idempotency key, until stop
// is closed, and answers each earn's time, the count and the failures.
func (p *benchPassd) tillEarns(stop <-chan struct{}) (times []time.Duration, n, errs int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(tillInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return times, n, errs
		case <-tick.C:
		}
		start := time.Now()
		err := p.earn(client)
		n++
		if err != nil {
			errs++
			continue
		}
		times = append(times, time.Since(start))
	}
}

// earn posts an earn of 1 point for a random member, with a fresh
// idempotency key, and checks it succeeded.
func (p *benchPassd) earn(client *http.Client) error {
	return p.tillEarn(client, adminKey)
}

// buildPassd builds cmd/passd with this test binary's signer (the tag
// openssl when passkit signs with OpenSSL) and answers its path.
func buildPassd(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "passd")
	args := []string{"build", "-o", bin}
	if passkit.SignerBackend() == "openssl" {
		args = append(args, "-tags", "openssl")
	}
	out, err := exec.CommandContext(tb.Context(), "go", append(args, "github.com/passd/passd/cmd/passd")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("go build passd: %v\n%s", err, out)
	}
	return bin
}

// freeLoopbackAddr answers a loopback address with a port free just now.
func freeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runChildPassd starts binary with env (and the test's own environment
// for PATH and the like), its log in logFile, waits until /healthz
// answers, and answers its URL and pid. The test's cleanup stops it with
// SIGTERM.
func runChildPassd(tb testing.TB, binary string, env map[string]string, logFile string) (string, int) {
	tb.Helper()
	logOut, err := os.Create(logFile)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(binary)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "PASSD_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			<-exited
		}
		logOut.Close()
	})
	url := "http://" + env["PASSD_ADDR"]
	// passd listens before it is ready: each probe has its own deadline.
	probe := &http.Client{Timeout: time.Second}
	up := testkit.Poll(5*time.Minute, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true
		default:
		}
		res, err := probe.Get(url + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	select {
	case err := <-exited:
		log, _ := os.ReadFile(logFile)
		tb.Fatalf("passd exited: %v\n%s", err, log)
	default:
	}
	if !up {
		tb.Fatalf("passd did not answer /healthz within 5 minutes")
	}
	return url, cmd.Process.Pid
}

// procStatus answers a "kB" line of /proc/pid/status in bytes (VmRSS,
// VmHWM), 0 when it cannot be read.
func procStatus(pid int, field string) int {
	if pid == 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb << 10
		}
	}
	return 0
}
