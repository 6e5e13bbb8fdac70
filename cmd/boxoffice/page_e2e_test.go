package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (scripts/test-deps installs it).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactsDir is where browser tests write screenshots: $BOXOFFICE_ARTIFACTS,
// else $TMPDIR/boxoffice-artifacts (kept after the test).
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("BOXOFFICE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "boxoffice-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSeatMapPage drives the seat-map page in headless Chromium against the
// real binary: two tabs on one show; seats held through the API, and seats
// picked and held in the second tab, turn "held" in the first within 1 s
// (by the event stream, or by polling without it); a screenshot of each tab
// is written to the artifacts directory.
func TestSeatMapPage(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("chromium is not installed (scripts/test-deps installs Debian's chromium)")
	}
	srv := startServer(t, t.TempDir())
	defer srv.stop()
	createShow(t, srv.base, "page", 900)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	)
	// the whole browser session is bounded, and each step below too
	whole, cancelWhole := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancelWhole()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(whole, opts...)
	defer cancelAlloc()
	tab1, cancel1 := chromedp.NewContext(allocCtx)
	defer cancel1()
	// every step is bounded
	run := func(tab context.Context, d time.Duration, what string, actions ...chromedp.Action) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, d)
		defer cancel()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	exceptions := make(chan string, 16)
	watch := func(tab context.Context) {
		chromedp.ListenTarget(tab, func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				select {
				case exceptions <- e.ExceptionDetails.Error():
				default:
				}
			}
		})
	}

	// GET / lists the show; its link opens the seat map.
	// the first Run of a tab starts it, on the tab's own context (a Run on
	// a derived context would close the tab when that context ends)
	if err := chromedp.Run(tab1); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	watch(tab1)
	run(tab1, 10*time.Second, "the show list", chromedp.Navigate(srv.base+"/"),
		chromedp.WaitVisible(`a[href="/shows/page"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/shows/page"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`svg[data-ready="1"]`, chromedp.ByQuery))

	tab2, cancel2 := chromedp.NewContext(tab1) // a second tab of the same browser
	defer cancel2()
	if err := chromedp.Run(tab2); err != nil {
		t.Fatalf("open tab 2: %v", err)
	}
	watch(tab2)
	run(tab2, 10*time.Second, "tab 2 seat map",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), // a phone
		chromedp.Navigate(srv.base+"/shows/page"),
		chromedp.WaitVisible(`svg[data-ready="1"]`, chromedp.ByQuery))

	var n int
	run(tab1, 5*time.Second, "count seats", chromedp.Evaluate(`document.querySelectorAll("rect.seat[data-seat]").length`, &n))
	if n != 150 {
		t.Fatalf("the map shows %d seats, want 150", n)
	}
	var ga string
	run(tab1, 5*time.Second, "GA bar", chromedp.Evaluate(`document.querySelector('text[data-ga="pit"]').textContent`, &ga))
	if !strings.Contains(ga, "100 available") {
		t.Fatalf("GA section text %q", ga)
	}

	// state reads a seat's data-state in a tab.
	state := func(tab context.Context, seat string) string {
		var s string
		run(tab, 2*time.Second, "read "+seat, chromedp.Evaluate(
			fmt.Sprintf(`(document.querySelector('[data-seat=%q]')||{getAttribute:()=>"missing"}).getAttribute("data-state")`, seat), &s))
		return s
	}
	// waitHeld fails unless every seat is "held" in tab within d of start.
	waitHeld := func(tab context.Context, start time.Time, d time.Duration, seats ...string) time.Duration {
		t.Helper()
		for {
			all := true
			for _, s := range seats {
				if state(tab, s) != "held" {
					all = false
					break
				}
			}
			took := time.Since(start)
			if all {
				return took
			}
			if took > d {
				t.Fatalf("seats %v not held in the page %v after the hold", seats, took)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// 1. A hold through the API.
	if s := state(tab1, "a-1-5"); s != "available" {
		t.Fatalf("a-1-5 is %q before any hold", s)
	}
	start := time.Now()
	if code, err := call("POST", srv.base+"/v1/shows/page/holds", `{"user":"api","seats":["a-1-5","a-1-6"]}`, nil); err != nil || code != 201 {
		t.Fatalf("hold: %d %v", code, err)
	}
	took := waitHeld(tab1, start, time.Second, "a-1-5", "a-1-6")
	t.Logf("API hold shown held in tab 1 after %v", took)

	// 2. Seats picked and held in tab 2.
	run(tab2, 10*time.Second, "pick seats in tab 2",
		chromedp.SendKeys(`#user`, "fan2", chromedp.ByID),
		chromedp.Click(`[data-seat="a-2-25"]`, chromedp.ByQuery),
		chromedp.Click(`[data-seat="a-2-26"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-seat="a-2-26"].selected`, chromedp.ByQuery))
	start = time.Now()
	run(tab2, 5*time.Second, "hold in tab 2", chromedp.Click(`#hold`, chromedp.ByID))
	took = waitHeld(tab1, start, time.Second, "a-2-25", "a-2-26")
	t.Logf("tab 2's hold shown held in tab 1 after %v", took)
	var m string
	run(tab2, 5*time.Second, "hold answer", chromedp.WaitVisible(`#order:not([disabled])`, chromedp.ByQuery),
		chromedp.Text(`#msg`, &m, chromedp.ByID))
	if !strings.Contains(m, "Held a-2-25, a-2-26") {
		t.Fatalf("tab 2 says %q", m)
	}

	// 3. Order the hold from tab 2; the seats turn reserved in tab 1.
	run(tab2, 5*time.Second, "order", chromedp.Click(`#order`, chromedp.ByID))
	for end := time.Now().Add(5 * time.Second); !strings.HasPrefix(m, "Order") && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		run(tab2, 2*time.Second, "order answer", chromedp.Evaluate(`document.getElementById("msg").textContent`, &m))
	}
	if !strings.Contains(m, "pending_payment") {
		t.Fatalf("tab 2 says %q after the order", m)
	}
	deadline := time.Now().Add(2 * time.Second)
	for state(tab1, "a-2-25") != "reserved" {
		if time.Now().After(deadline) {
			t.Fatalf("the ordered seat is %q in tab 1", state(tab1, "a-2-25"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var reserved string
	run(tab1, 5*time.Second, "totals", chromedp.Text(`[data-total="reserved"]`, &reserved, chromedp.ByQuery))
	if reserved != "2" {
		t.Fatalf("tab 1 totals say %q reserved, want 2", reserved)
	}

	// Screenshots of both tabs.
	dir := artifactsDir(t)
	for i, tab := range []context.Context{tab1, tab2} {
		var png []byte
		// a background tab may not render: bring it to the front first
		run(tab, 10*time.Second, "screenshot", page.BringToFront(), chromedp.FullScreenshot(&png, 100))
		path := filepath.Join(dir, fmt.Sprintf("seatmap-tab%d.png", i+1))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of tab %d: %s", i+1, path)
	}
	select {
	case e := <-exceptions:
		t.Fatalf("the page threw: %s", e)
	default:
	}
}
