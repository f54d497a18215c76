package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
)

const loadTestKey = "passctl-load-test-admin-key-0123"

// startPassd runs a whole passd (SQLite in a temp folder) on a loopback
// port until the test ends, and answers its base URL.
func startPassd(t *testing.T) string {
	t.Helper()
	env := map[string]string{
		"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": t.TempDir(), "PASSD_BOOTSTRAP_ADMIN_KEY": loadTestKey,
	}
	s, _ := servertest.Start(t, env, nil, server.Options{})
	return s.URL()
}

// runLoad runs passctl load with a deadline, so a stuck run fails the test
// instead of hanging it.
func runLoad(t *testing.T, ctx context.Context, args ...string) (int, string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code, err := run(ctx, append([]string{"load"}, args...), func(string) string { return "" }, &out, &errOut)
	return code, out.String(), errOut.String(), err
}

func decodeReport(t *testing.T, out string) loadReport {
	t.Helper()
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("load --json printed %q: %v", out, err)
	}
	return rep
}

func TestLoad(t *testing.T) {
	t.Parallel()
	url := startPassd(t)
	code, out, errOut, err := runLoad(t, context.Background(), "--url", url, "--key", loadTestKey,
		"--members", "10", "--concurrency", "4", "--requests", "300",
		"--mix", "earn=60,redeem=20,scan=10,replay=10", "--json")
	if err != nil || code != 0 {
		t.Fatalf("load = %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	rep := decodeReport(t, out)
	if rep.Stopped != "requests" || rep.Members != 10 || rep.Concurrency != 4 {
		t.Errorf("report stopped by %q with %d members, %d workers, want requests, 10, 4", rep.Stopped, rep.Members, rep.Concurrency)
	}
	if rep.Total.Count != 300 || rep.Total.Errors != 0 || rep.Total.OK+rep.Total.Expected != 300 {
		t.Errorf("total = %+v, want 300 requests, all ok or expected", rep.Total)
	}
	var sum, earns, redeems int64
	ops := map[string]bool{}
	for _, op := range rep.Ops {
		ops[op.Op] = true
		sum += op.Count
		if op.Count != op.OK+op.Expected+op.Errors {
			t.Errorf("%s: count %d != ok %d + expected %d + errors %d", op.Op, op.Count, op.OK, op.Expected, op.Errors)
		}
		if op.Op != "redeem" && op.Expected != 0 {
			t.Errorf("%s: %d expected outcomes, want 0 (only redeems may run short)", op.Op, op.Expected)
		}
		if op.Count > 0 && (op.P50ms <= 0 || op.P50ms > op.P90ms || op.P90ms > op.P99ms || op.P99ms > op.MaxMs || op.RPS <= 0) {
			t.Errorf("%s: latencies p50 %v p90 %v p99 %v max %v, rate %v, want 0 < p50 <= p90 <= p99 <= max and a rate",
				op.Op, op.P50ms, op.P90ms, op.P99ms, op.MaxMs, op.RPS)
		}
		switch op.Op {
		case "earn":
			earns = op.OK
		case "redeem":
			redeems = op.OK
		}
	}
	for _, want := range []string{"earn", "redeem", "scan", "replay"} {
		if !ops[want] {
			t.Errorf("report lacks %s: %+v", want, rep.Ops)
		}
	}
	if sum != 300 {
		t.Errorf("ops add up to %d requests, want 300", sum)
	}
	c := rep.Consistency
	if c.Members != 10 || c.Mismatches != 0 || c.CheckErrors != 0 || c.Unsure != 0 || c.Entries != earns+redeems {
		t.Errorf("consistency = %+v, want 10 members, no mismatch, %d entries (earns + redeems)", c, earns+redeems)
	}
}

func TestLoadTextReport(t *testing.T) {
	t.Parallel()
	url := startPassd(t)
	code, out, errOut, err := runLoad(t, context.Background(), "--url", url, "--key", loadTestKey,
		"--members", "3", "--concurrency", "2", "--requests", "40")
	if err != nil || code != 0 {
		t.Fatalf("load = %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	for _, want := range []string{"stopped by requests", "\nearn ", "\nredeem ", "\nscan ", "\ntotal ", "consistency: 3 members", " 0 mismatches"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 4 && f[0] == "total" && (f[1] != "40" || f[4] != "0") {
			t.Errorf("total line %q, want 40 requests and 0 errors", line)
		}
	}
}

// TestLoadInterrupted: a cancelled context (Ctrl-C) ends the run early and
// the report, ledger check included, is still printed.
func TestLoadInterrupted(t *testing.T) {
	t.Parallel()
	url := startPassd(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	code, out, errOut, err := runLoad(t, ctx, "--url", url, "--key", loadTestKey,
		"--members", "5", "--concurrency", "2", "--duration", "1m", "--json")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("interrupted load took %v", took)
	}
	if err != nil || code != 0 {
		t.Fatalf("load = %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	rep := decodeReport(t, out)
	if rep.Stopped != "interrupted" || rep.Total.Count == 0 || rep.Total.Errors != 0 {
		t.Errorf("report stopped by %q, total %+v, want interrupted with requests and no error", rep.Stopped, rep.Total)
	}
	if c := rep.Consistency; c.Members != 5 || c.Mismatches != 0 || c.CheckErrors != 0 {
		t.Errorf("consistency = %+v, want 5 members checked, no mismatch", c)
	}
}

// TestLoadSetupNeedsMerchantKey: a key that cannot enrol fails setup
// clearly instead of reporting a run of errors.
func TestLoadSetupNeedsMerchantKey(t *testing.T) {
	t.Parallel()
	url := startPassd(t)
	code, _, _, err := runLoad(t, context.Background(), "--url", url, "--key", "not-a-key", "--requests", "10")
	if code != 1 || err == nil || !strings.Contains(err.Error(), "401 unauthorized") {
		t.Errorf("load with an unknown key = %d, %v, want 1 and a 401 unauthorized setup error", code, err)
	}
}

func TestLoadRefusesBadCommandLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"remote host", []string{"--url", "http://passd.example.com", "--key", "k"}, false, "not a loopback"},
		{"remote IP", []string{"--url", "http://10.0.0.5:8080", "--key", "k"}, false, "not a loopback"},
		{"name that may resolve anywhere", []string{"--url", "http://127.0.0.1.nip.io", "--key", "k"}, false, "not a loopback"},
		{"no key", []string{"--url", "http://127.0.0.1:1"}, true, "--key"},
		{"not http", []string{"--url", "ftp://127.0.0.1", "--key", "k"}, true, "--url"},
		{"duration over the cap", []string{"--key", "k", "--duration", "6m"}, true, "--duration"},
		{"requests over the cap", []string{"--key", "k", "--requests", "10000001"}, true, "--requests"},
		{"no workers", []string{"--key", "k", "--concurrency", "0"}, true, "--concurrency"},
		{"unknown op", []string{"--key", "k", "--mix", "earn=1,adjust=1"}, true, "adjust"},
		{"zero mix", []string{"--key", "k", "--mix", "earn=0"}, true, "zero"},
		{"stray argument", []string{"--key", "k", "now"}, true, "now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, _, err := runLoad(t, context.Background(), tc.args...)
			if code != 2 || err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, errUsage) != tc.usage || out != "" {
				t.Errorf("load %v = %d, %v, want exit 2 with an error naming %q (usage %v)", tc.args, code, err, tc.want, tc.usage)
			}
		})
	}
	// --allow-remote lets a remote URL through (checked without a request).
	if cfg, _, err := parseLoad([]string{"--url", "http://192.0.2.1:9/", "--key", "k", "--allow-remote"}, nil, io.Discard); err != nil || cfg.base != "http://192.0.2.1:9" {
		t.Errorf("parseLoad(--allow-remote) = %q, %v, want the URL accepted", cfg.base, err)
	}
	var out bytes.Buffer
	if code, err := run(context.Background(), []string{"load", "-h"}, nil, &out, io.Discard); code != 0 || err != nil || !strings.Contains(out.String(), "-concurrency") {
		t.Errorf("load -h = %d, %v, %q, want the flags", code, err, out.String())
	}
}

func TestParseMix(t *testing.T) {
	t.Parallel()
	got, err := parseMix("earn=80, redeem=10,scan=10,replay=0")
	if want := [numOps]int{opEarn: 80, opRedeem: 10, opScan: 10}; err != nil || got != want {
		t.Errorf("parseMix() = %v, %v, want %v", got, err, want)
	}
	for _, bad := range []string{"", "earn", "earn=x", "earn=-1", "earn=1,earn=2", "scan=0,redeem=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) = nil error, want one", bad)
		}
	}
}
