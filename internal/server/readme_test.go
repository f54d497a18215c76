package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of the README.
var readmeBlock = regexp.MustCompile("(?ms)^```sh\n(.*?)^```\n")

// shellBlocks answers the README's ```sh blocks, leaving out the one that
// runs `make test`: that block is what runs this test.
func shellBlocks(t *testing.T, readme string) []string {
	t.Helper()
	var out []string
	for _, m := range readmeBlock.FindAllStringSubmatch(readme, -1) {
		if !strings.Contains(m[1], "make test") {
			out = append(out, m[1])
		}
	}
	if len(out) < 2 {
		t.Fatalf("README has %d runnable ```sh blocks, want the quickstart's", len(out))
	}
	return out
}

// TestReadmeCommandsRunVerbatim runs the README's command blocks, as
// written, one after the other in one shell, in a fresh copy of the
// source tree (so a fresh ./data) on a private loopback: a network
// namespace when the machine allows one, else the host's when port 8080
// is free. The blocks start passd with `make run &`, enrol a member and
// post an earn; the test checks the answers and stops passd.
func TestReadmeCommandsRunVerbatim(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs passd from a copy of the tree")
	}
	for _, tool := range []string{"bash", "curl", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed to run the README's commands", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shellBlocks(t, string(readme))
	dir := freshCopy(t, root)

	script := "set -e\n" + strings.Join(blocks, "\n") + "\n" +
		// What the blocks leave for the reader to look at.
		"echo \"README-TEST ID=$ID\"\n"
	var cmd *exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, ipErr := exec.LookPath("ip")
	if ipErr == nil && exec.Command("unshare", "--net", "--map-root-user", "true").Run() == nil {
		cmd = exec.CommandContext(ctx, "unshare", "--net", "--map-root-user", "bash", "-c", "ip link set lo up && bash -c \"$0\"", script)
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:8080")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("no network namespace (unshare, ip) and port 8080 is busy (%v): the README's commands need localhost:8080", err)
			}
			t.Skip("no network namespace (unshare, ip) and port 8080 is busy: the README's commands use localhost:8080")
		}
		ln.Close()
		cmd = exec.CommandContext(ctx, "bash", "-c", script)
	}
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSD_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	// The shell and passd (started in the background by `make run &`)
	// share a process group that the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Output goes to a file, not a pipe: passd, which the blocks start
	// in the background, keeps its output open after the shell ends.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	start := time.Now()
	runErr := cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	out, _ := os.ReadFile(outFile.Name())
	if runErr != nil {
		t.Fatalf("README commands failed after %v: %v\n%s", time.Since(start).Round(time.Second), runErr, out)
	}
	got := string(out)
	for _, want := range []string{`"barcode":`, `"apple_pass_url":`, `"points":120`, "README-TEST ID=", "you@example.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("README commands' output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "README-TEST ID=\n") {
		t.Errorf("the README's blocks leave $ID empty:\n%s", got)
	}
	t.Logf("README commands ran in %v", time.Since(start).Round(time.Second))
}

// freshCopy copies the source tree at root into a folder of its own, the
// same for every run from this tree (so that the build cache, whose keys
// hold the source paths, serves `make run` what earlier runs compiled),
// held under a lock so concurrent runs take turns, and removed when the
// test ends.
func freshCopy(t *testing.T, root string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "passd-readme-"+hex.EncodeToString(sum[:6]))
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(dir)
		lock.Close() // releases the lock
	})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	copyTree(t, root, dir)
	return dir
}

// copyTree copies the source tree at root into dir, leaving out version
// control, the data folder and built binaries.
func copyTree(t *testing.T, root, dir string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch rel {
			case ".git", "data", "bin", filepath.Join("internal", "web", "testdata", "artifacts"):
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the source tree: %v", err)
	}
}
