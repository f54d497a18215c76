package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/internal/webhooks"
	"github.com/passd/passd/internal/webhooks/webhookstest"
)

// runAsPassd makes the test binary run passd itself, so tests can start
// and kill real passd processes without building one.
const runAsPassd = "PASSD_TEST_RUN_AS_PASSD"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPassd) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Getenv)
		stop()
		if err != nil {
			os.Stderr.WriteString("passd: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const adminKey = "passd-main-test-admin-key"

// process is a passd process.
type process struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	url string
}

// startPassd starts passd with env and waits until it is ready.
func startPassd(t *testing.T, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runAsPassd+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, out: &bytes.Buffer{}, url: "http://" + env["PASSD_ADDR"]}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if !testkit.Poll(30*time.Second, func() bool {
		res, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}) {
		t.Fatalf("passd not ready; its output:\n%s", p.out)
	}
	return p
}

func (p *process) call(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, out)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// An event whose delivery was cut by SIGKILL is delivered after the
// restart, with the same webhook-id.
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"PASSD_DATA_DIR": t.TempDir(), "PASSD_BOOTSTRAP_ADMIN_KEY": adminKey,
				"PASSD_WEBHOOK_ALLOW_HTTP": "1", "PASSD_LOG_LEVEL": "warn",
			}
			if db == "postgres" {
				env["PASSD_DATABASE_URL"] = testpg.FreshSchema(t)
			}
			webhookSurvivesSIGKILL(t, env)
		})
	}
}

func webhookSurvivesSIGKILL(t *testing.T, env map[string]string) {
	// The first request hangs until the test ends: passd is killed while
	// it waits for the answer.
	hang := make(chan struct{})
	rc := webhookstest.New(t, false, func(n int, _ webhookstest.Delivery) (int, http.Header) {
		if n == 0 {
			<-hang
		}
		return 204, nil
	})
	// Registered after the receiver's, so it runs before the receiver
	// closes (which waits for the hanging request).
	t.Cleanup(func() { close(hang) })
	env["PASSD_ADDR"] = freeAddr(t)
	env["PASSD_PUBLIC_URL"] = "http://" + env["PASSD_ADDR"]
	p := startPassd(t, env)
	var hook struct{ Secret string }
	if err := json.Unmarshal(p.call(t, "POST", "/api/v1/webhooks",
		map[string]any{"url": rc.URL("/hook"), "events": []string{"member.enrolled"}, "program": "demo"}), &hook); err != nil {
		t.Fatal(err)
	}
	var m struct{ ID string }
	if err := json.Unmarshal(p.call(t, "POST", "/api/v1/programs/demo/members", map[string]any{"name": "Ada"}), &m); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, func() bool { return rc.InFlight() == 1 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	// The restarted passd sends the event again once the dead attempt's
	// lease has run out (the attempt timeout and a margin).
	p = startPassd(t, env)
	if !testkit.Poll(webhooks.DefaultTimeout+30*time.Second, func() bool { return len(rc.Deliveries()) >= 2 }) {
		t.Fatalf("no delivery after the restart; passd said:\n%s", p.out)
	}
	ds := rc.Deliveries()
	first, err := webhookstest.Verify(hook.Secret, ds[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := webhookstest.Verify(hook.Secret, ds[1])
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Type != "member.enrolled" || again.Data["member_id"] != m.ID {
		t.Errorf("after the restart: %s %s about %v, want %s again about %s", again.Type, again.ID, again.Data["member_id"], first.ID, m.ID)
	}
	if ts, _ := strconv.ParseInt(ds[1].Header.Get("webhook-timestamp"), 10, 64); ts < time.Now().Add(-time.Minute).Unix() {
		t.Errorf("webhook-timestamp %d is not the retry's time", ts)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("passd after SIGTERM: %v\n%s", err, p.out)
	}
}
