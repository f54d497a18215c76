package testpg

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, for tests that restart
// or stop the server: restarting the shared one would break every other
// test that runs beside it. It needs the PostgreSQL programs, which
// scripts/with-postgres.sh names in PASSD_TEST_PGBIN; without them the
// test is skipped (failed under CI).
type Cluster struct {
	t     testing.TB
	bin   string
	data  string
	log   string
	port  int
	opts  string // the server's options (-o)
	runAs []string
}

// NewCluster initialises and starts a cluster in a folder of the test's,
// listening on loopback; the test's cleanup stops it.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := env(t, "PASSD_TEST_PGBIN")
	dir, err := os.MkdirTemp("", "passd-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "pg.log"), port: freePort(t)}
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root, as scripts/with-postgres.sh knows.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		_ = c.pgctl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.command("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=100", c.port, dir)
	if err := c.Start(); err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	return c
}

// URL answers the cluster's database URL.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Restart restarts the server with pg_ctl restart -m mode ("fast" ends
// every session at once, as an operator's restart does).
func (c *Cluster) Restart(mode string) error { return c.pgctl("-m", mode, "restart") }

// Stop stops the server (pg_ctl stop -m mode); Start starts it again.
func (c *Cluster) Stop(mode string) error { return c.pgctl("-m", mode, "stop") }

// Start starts a stopped server.
func (c *Cluster) Start() error { return c.pgctl("-o", c.opts, "start") }

func (c *Cluster) pgctl(args ...string) error {
	full := append([]string{"-D", c.data, "-l", c.log, "-w", "-t", "60"}, args...)
	if out, err := c.command("pg_ctl", full...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(c.log)
		return fmt.Errorf("pg_ctl %v: %w: %s\n%s", args, err, out, log)
	}
	return nil
}

func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, c.runAs...), filepath.Join(c.bin, prog))
	argv = append(argv, args...)
	return exec.Command(argv[0], argv[1:]...)
}

// freePort answers a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
