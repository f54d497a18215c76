package chaos_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// passdBin is the passd binary TestMain builds for the suite.
var passdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "passd-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	passdBin = filepath.Join(dir, "passd")
	build := exec.Command("go", "build", "-o", passdBin, "github.com/passd/passd/cmd/passd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build passd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a passd process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
}

var startedAddr = regexp.MustCompile(`msg="passd started" addr=(\S+)`)

// start runs passd with env on a loopback port of its choosing and waits
// until it serves.
func start(t *testing.T, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(passdBin)
	cmd.Env = append(os.Environ(), "PASSD_ADDR=127.0.0.1:0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := startedAddr.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.done:
		t.Fatalf("passd exited at start:\n%s", p.output())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("passd did not start within 60s:\n%s", p.output())
	}
	return p
}

// output is what passd logged so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// apple is a mock APNs that trusts passd's development pass certificate,
// and the environment pointing passd at it; the certificates are made in
// the data folder passd will use.
type apple struct {
	apns *apnstest.Server
	env  map[string]string
}

func newApple(t *testing.T, dataDir string) apple {
	t.Helper()
	mock, env := servertest.Apple(t, dataDir)
	return apple{apns: mock, env: env}
}

// okSince counts, per token, the pushes answered 200 that arrived at or
// after since.
func okSince(a *apnstest.Server, since time.Time) map[string]int {
	out := map[string]int{}
	for _, p := range a.Pushes() {
		if p.Status == 200 && !p.Time.Before(since) {
			out[p.Token]++
		}
	}
	return out
}

// backend is one store passd runs on in a case.
type backend struct {
	name string
	// env points passd at the database.
	env map[string]string
	// open opens the same database from the test.
	open func(t *testing.T) *store.Store
}

// backends names the stores a case runs on: SQLite always, PostgreSQL
// under scripts/with-postgres.sh (and always under CI, where testpg fails
// rather than skips without it).
func backends() []string {
	if os.Getenv("PASSD_TEST_DATABASE_URL") != "" || os.Getenv("CI") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// newBackend sets up an empty store named name for a passd whose data
// folder is dataDir.
func newBackend(t *testing.T, name, dataDir string) backend {
	t.Helper()
	quiet := store.Options{Logger: slog.New(slog.DiscardHandler)}
	if name == "sqlite" {
		return backend{name: name, env: map[string]string{}, open: func(t *testing.T) *store.Store {
			s, err := store.OpenSQLite(context.Background(), filepath.Join(dataDir, "passd.db"), quiet)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}}
	}
	dsn := testpg.FreshSchema(t)
	return backend{name: name, env: map[string]string{"PASSD_DATABASE_URL": dsn}, open: func(t *testing.T) *store.Store {
		s, err := store.OpenPostgres(context.Background(), dsn, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// merge answers the union of environments, later ones winning.
func merge(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// eachBackend runs fn as a parallel subtest for each store, with a fresh
// data folder, the store and a mock APNs trusting the folder's
// development certificates.
func eachBackend(t *testing.T, fn func(t *testing.T, dir string, db backend, a apple)) {
	for _, name := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fn(t, dir, newBackend(t, name, dir), newApple(t, dir))
		})
	}
}
