package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLoadJSON runs LoadMain with --json and decodes the report.
func runLoadJSON(t *testing.T, args ...string) (*Report, int) {
	t.Helper()
	var out bytes.Buffer
	code := LoadMain(append(args, "--json"), &out)
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("exit %d; output is not JSON (%v):\n%s", code, err, out.String())
	}
	return &r, code
}

// requireCountsAddUp: per endpoint, statuses sum to the count, errors match
// the statuses, the per-interval counts sum to the totals, and the
// endpoints sum to all.
func requireCountsAddUp(t *testing.T, r *Report) {
	t.Helper()
	var sum, errs int64
	for _, e := range r.Endpoints {
		var st, bad int64
		for code, n := range e.Statuses {
			st += n
			if code == "error" || !(strings.HasPrefix(code, "2") || code == "409") {
				bad += n
			}
		}
		if st != e.Count || bad != e.Errors {
			t.Errorf("%s: statuses sum to %d (errors %d), count %d (errors %d)", e.Name, st, bad, e.Count, e.Errors)
		}
		var series int64
		for _, p := range r.Series {
			series += p.Endpoints[e.Name].Count
		}
		if series != e.Count {
			t.Errorf("%s: intervals sum to %d, count %d", e.Name, series, e.Count)
		}
		sum += e.Count
		errs += e.Errors
	}
	if sum != r.All.Count || sum != r.Requests || errs != r.Errors {
		t.Errorf("endpoints sum to %d requests (%d errors), all %d, report %d (%d errors)", sum, errs, r.All.Count, r.Requests, r.Errors)
	}
	if r.Requests == 0 {
		t.Error("no request was sent")
	}
}

func endpoint(r *Report, name string) EndpointSummary {
	for _, e := range r.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return EndpointSummary{}
}

func TestLoadFlashSaleOpenLoop(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	report := filepath.Join(t.TempDir(), "r.html")
	r, code := runLoadJSON(t, "flash-sale", "--target", url, "--admin-token", testAdmin, "--rate", "400",
		"--duration", "1s", "--users", "150", "--seats", "120", "--report", report, "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	if r.Arrivals+r.Missed != 400 || r.Mode != "open-loop" {
		t.Fatalf("arrivals %d + missed %d, want 400 in open loop (mode %s)", r.Arrivals, r.Missed, r.Mode)
	}
	// each arrival is one hold; 150 users per sale over 120 seats: sales sell out
	hold := endpoint(r, epHold)
	if hold.Count != r.Arrivals || hold.Statuses["201"] == 0 || hold.Statuses["409"] == 0 {
		t.Fatalf("hold: %d requests %v for %d arrivals; want one per arrival, some won and some sold out", hold.Count, hold.Statuses, r.Arrivals)
	}
	if o, p := endpoint(r, epOrder), endpoint(r, epPay); o.Count == 0 || p.Count != o.Statuses["201"] {
		t.Fatalf("order %v, pay %v: want orders, and one payment per order created", o.Statuses, p.Statuses)
	}
	requireHTMLReport(t, report)
}

// requireHTMLReport: the report is one well-formed, self-contained page with
// its four charts.
func requireHTMLReport(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<!DOCTYPE html>", "Throughput over time", "Latency over time",
		"Latency distribution by endpoint (HDR)", "p99 latency by endpoint over time", "Invariants", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg "); n != 4 {
		t.Errorf("%d charts, want 4", n)
	}
	if n := strings.Count(page, "<polyline "); n < 4 {
		t.Errorf("%d plotted lines, want at least one per chart", n)
	}
	for _, banned := range []string{"<script", "src=", "href=", "@import", "url(http"} {
		if strings.Contains(page, banned) {
			t.Errorf("report is not self-contained: it contains %q", banned)
		}
	}
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Fatalf("report has %d unclosed elements", depth)
	}
}

func TestLoadMixedClosedLoopWithCeiling(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	report := filepath.Join(t.TempDir(), "r.html")
	r, code := runLoadJSON(t, "mixed", "--target", url, "--admin-token", testAdmin, "--connections", "8",
		"--duration", "1s", "--users", "200", "--seats", "150", "--ceiling", "--report", report)
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	if r.Mode != "closed-loop" || r.Missed != 0 {
		t.Fatalf("mode %s missed %d", r.Mode, r.Missed)
	}
	for _, ep := range []string{epHold, epGetShow, epGetSeats} {
		if endpoint(r, ep).Count == 0 {
			t.Errorf("mixed sent no %s request", ep)
		}
	}
	c := r.Ceiling
	if c == nil || c.ThroughputPerSecond <= 0 || c.Ratio <= 0 {
		t.Fatalf("ceiling %+v", c)
	}
	if got := r.ThroughputPerSecond / c.ThroughputPerSecond; got < c.Ratio*0.999 || got > c.Ratio*1.001 {
		t.Fatalf("ratio %f, want boxoffice/ceiling = %f", c.Ratio, got)
	}
	if c.All.Errors != 0 {
		t.Fatalf("ceiling run had %d errors: %v", c.All.Errors, c.All.Statuses)
	}
	requireHTMLReport(t, report)
	page, _ := os.ReadFile(report)
	if !strings.Contains(string(page), "Ceiling ratio") {
		t.Error("report does not show the ceiling ratio")
	}
}

func TestLoadSeatRaceAndBrowse(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	r, code := runLoadJSON(t, "seat-race", "--target", url, "--admin-token", testAdmin, "--connections", "6",
		"--duration", "1s", "--users", "4")
	if code != 0 {
		t.Fatalf("seat-race: exit %d, checks %+v", code, r.Checks)
	}
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	hold := endpoint(r, epHold)
	// 4 users per seat, arrivals numbered: exactly one winner per started round
	rounds := (r.Arrivals + 3) / 4
	if won := hold.Statuses["201"]; won != rounds {
		t.Fatalf("%d holds won over %d arrivals (%d rounds): want one per round", won, r.Arrivals, rounds)
	}
	r, code = runLoadJSON(t, "browse", "--target", url, "--admin-token", testAdmin, "--rate", "300", "--duration", "1s")
	if code != 0 {
		t.Fatalf("browse: exit %d, checks %+v", code, r.Checks)
	}
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	if g, s := endpoint(r, epGetShow), endpoint(r, epGetSeats); g.Count+s.Count != r.Arrivals || g.Errors+s.Errors != 0 {
		t.Fatalf("browse: %d + %d reads (errors %d, %d) for %d arrivals", g.Count, s.Count, g.Errors, s.Errors, r.Arrivals)
	}
}

func TestLoadSummaryTable(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	var out bytes.Buffer
	code := LoadMain([]string{"browse", "--target", url, "--admin-token", testAdmin, "--connections", "2", "--duration", "1s"}, &out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"endpoint", "p99.9", "get_show", "all", "invariants:", "[ok] counters add up to capacity"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("progress line written to a non-terminal")
	}
}

func TestLoadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"flash-sale", "--target", "http://10.1.2.3:8080"},
		{"flash-sale", "--target", "http://example.com"},
		{"nope", "--target", "http://127.0.0.1:1"},
		{"flash-sale"},
		{"flash-sale", "--target", "http://127.0.0.1:1", "--duration", "11m"},
		{"flash-sale", "--target", "http://127.0.0.1:1", "--rate", "1e9"},
		{"flash-sale", "--target", "http://127.0.0.1:1", "--connections", "100000"},
	} {
		var out bytes.Buffer
		if code := LoadMain(args, &out); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out bytes.Buffer
	LoadMain([]string{"flash-sale", "--target", "http://10.1.2.3:8080"}, &out)
	if !strings.Contains(out.String(), "refusing host") || !strings.Contains(out.String(), "loopback") {
		t.Errorf("refusal is not clear: %q", out.String())
	}
}

// TestOpenLoopCountsLateness: a service slower than the arrival rate must
// show the queueing in latency (measured from the intended send time), not
// just the service time.
func TestOpenLoopCountsLateness(t *testing.T) {
	t.Parallel()
	const service = 10 * time.Millisecond
	rec := newRecorder([]string{"x"}, time.Now())
	spec := driveSpec{rate: 200, workers: 1, duration: 500 * time.Millisecond, maxTotal: 1000, seed: 1}
	dr := drive(context.Background(), spec, func(ctx context.Context, w *worker, i int64, intended time.Time) {
		time.Sleep(service)
		rec.record(0, 200, time.Since(intended))
	}, func(time.Time) {})
	rec.tick(time.Now())
	if dr.arrivals != 100 || dr.missed != 0 {
		t.Fatalf("arrivals %d missed %d, want 100 and 0", dr.arrivals, dr.missed)
	}
	_, all := rec.summaries(dr.elapsed)
	// one worker serves 100/s against 200/s scheduled: the last arrival starts ~0.5 s late
	if all.MaxMicros < 300_000 || all.P50Micros < 5*service.Microseconds() {
		t.Fatalf("max %dµs p50 %dµs: lateness not counted (service time %s)", all.MaxMicros, all.P50Micros, service)
	}
}
