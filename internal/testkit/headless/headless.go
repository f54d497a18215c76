// Package headless starts Debian's chromium for browser tests: the one
// place that finds it, decides that CI may not skip without it, and sets
// the flags every browser test needs.
package headless

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Debian's chromium. Without it the test skips locally but
// fails in CI (CI set), so CI can never silently skip a browser test.
func Path(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI for the browser test (apt-get install chromium)")
	}
	t.Skip("chromium not installed; skipping the browser test (apt-get install chromium)")
	return ""
}

// Browser starts a headless chromium of width x height with opts added,
// for at most limit, and answers its context (cancelled at the test's
// end).
func Browser(t testing.TB, limit time.Duration, width, height int, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}, opts...)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	return bctx
}
