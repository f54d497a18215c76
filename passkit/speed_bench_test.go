package passkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBuildVsOpenSSLSpeed is the signing goal's figure: whole passes
// built and signed per second on every core (GOMAXPROCS goroutines, the
// template's files prepared, as passd builds) beside
// `openssl speed -multi N rsa2048` on the same cores, the two alternated
// second by second so that both see the same machine. Each iteration is
// one round of both. With -tags openssl the goal is a ratio of 0.8 or
// more; the default build reports where crypto/rsa stands.
func BenchmarkBuildVsOpenSSLSpeed(b *testing.B) {
	openssl := needOpenSSL(b)
	s, p, files := benchSetup(b)
	fs, err := s.PrepareFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	bundle := &Bundle{Pass: p, FileSet: fs}
	procs := runtime.GOMAXPROCS(0)
	var builds, speeds float64
	for b.Loop() {
		speed, err := opensslSpeed(b.Context(), openssl, procs)
		if err != nil {
			b.Fatal(err)
		}
		speeds += speed
		builds += buildsPerSecond(b, s, bundle, procs, time.Second)
	}
	b.ReportMetric(builds/float64(b.N), "builds/s")
	b.ReportMetric(speeds/float64(b.N), "openssl-speed/s")
	b.ReportMetric(builds/speeds, "ratio")
	b.Logf("backend %s, %d cores: %.0f passes/s, openssl speed -multi %d rsa2048: %.0f signs/s, ratio %.2f",
		s.Backend(), procs, builds/float64(b.N), procs, speeds/float64(b.N), builds/speeds)
}

// buildsPerSecond builds the bundle on procs goroutines for d.
func buildsPerSecond(b *testing.B, s *Signer, bundle *Bundle, procs int, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range procs {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := s.BuildBundle(bundle); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// opensslSpeed runs `openssl speed -seconds 1 -multi procs rsa2048` and
// returns its RSA-2048 signs per second over all processes.
func opensslSpeed(ctx context.Context, openssl string, procs int) (float64, error) {
	out, err := exec.CommandContext(ctx, openssl, "speed", "-seconds", "1", "-multi", strconv.Itoa(procs), "rsa2048").Output()
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "rsa 2048 bits 0.000144s 0.000008s   6946.0 127945.7"
		f := strings.Fields(sc.Text())
		if len(f) == 7 && f[0] == "rsa" && f[1] == "2048" {
			return strconv.ParseFloat(f[5], 64)
		}
	}
	return 0, fmt.Errorf("openssl speed printed no rsa 2048 line:\n%s", out)
}
