package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one boxoffice load run measured; --json prints it and
// --report renders it as HTML.
type Report struct {
	Scenario            string            `json:"scenario"`
	Target              string            `json:"target"`
	Mode                string            `json:"mode"` // "open-loop" or "closed-loop"
	RatePerSecond       float64           `json:"rate_per_second,omitempty"`
	Connections         int               `json:"connections"` // closed loop: connections; open loop: max arrivals in flight
	DurationSeconds     float64           `json:"duration_seconds"`
	WarmupSeconds       float64           `json:"warmup_seconds,omitempty"`  // before each measured run, unrecorded (--warmup)
	WarmupArrivals      int64             `json:"warmup_arrivals,omitempty"` // the warm-up's before this run
	ElapsedSeconds      float64           `json:"elapsed_seconds"`
	Seed                uint64            `json:"seed"`
	StartedAt           time.Time         `json:"started_at"`
	Params              map[string]string `json:"params"`
	Arrivals            int64             `json:"arrivals"`
	Missed              int64             `json:"missed"`
	Requests            int64             `json:"requests"`
	Errors              int64             `json:"errors"`
	ThroughputPerSecond float64           `json:"throughput_per_second"`
	All                 EndpointSummary   `json:"all"`
	Endpoints           []EndpointSummary `json:"endpoints"`
	Series              []SeriesPoint     `json:"series"`
	Checks              []Check           `json:"checks"`
	InvariantsOK        bool              `json:"invariants_ok"`
	Ceiling             *CeilingResult    `json:"ceiling,omitempty"`
}

// CeilingResult is the same load run against the no-op server (in process,
// or the --ceiling-target process; Target says which).
type CeilingResult struct {
	Target              string            `json:"target"`
	ThroughputPerSecond float64           `json:"throughput_per_second"`
	WarmupArrivals      int64             `json:"warmup_arrivals,omitempty"` // the warm-up's before the ceiling run
	Ratio               float64           `json:"ratio"`                     // boxoffice throughput / ceiling throughput
	All                 EndpointSummary   `json:"all"`
	Endpoints           []EndpointSummary `json:"endpoints"`
	Note                string            `json:"note"`
}

// writeJSON prints the report as indented JSON.
func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeSummary prints the human summary: parameters, one line per endpoint,
// the invariant checks and the ceiling ratio.
func writeSummary(w io.Writer, r *Report) {
	fmt.Fprintf(w, "boxoffice load %s -> %s: %s, %.1fs (planned %.0fs), seed %d\n", r.Scenario, r.Target,
		modeText(r), r.ElapsedSeconds, r.DurationSeconds, r.Seed)
	fmt.Fprintf(w, "arrivals %d (missed %d), requests %d, errors %d, throughput %.0f req/s\n\n",
		r.Arrivals, r.Missed, r.Requests, r.Errors, r.ThroughputPerSecond)
	writeEndpointTable(w, append(append([]EndpointSummary(nil), r.Endpoints...), r.All))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "invariants:")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  [%s] %s: %s\n", okWord(c.OK), c.Name, c.Detail)
	}
	if len(r.Checks) == 0 {
		fmt.Fprintln(w, "  (none checked)")
	}
	if c := r.Ceiling; c != nil {
		fmt.Fprintf(w, "\nceiling: no-op server %.0f req/s, boxoffice %.0f req/s: ratio %.2f (%s)\n",
			c.ThroughputPerSecond, r.ThroughputPerSecond, c.Ratio, c.Note)
		for _, e := range r.Endpoints {
			for _, ce := range c.Endpoints {
				if ce.Name == e.Name && ce.RatePerSecond > 0 && e.Count >= 100 {
					fmt.Fprintf(w, "  %s: boxoffice %.0f/s (p50 %s, p99 %s), no-op %.0f/s (p50 %s, p99 %s): ratio %.2f\n",
						e.Name, e.RatePerSecond, fmtMicros(e.P50Micros), fmtMicros(e.P99Micros),
						ce.RatePerSecond, fmtMicros(ce.P50Micros), fmtMicros(ce.P99Micros), e.RatePerSecond/ce.RatePerSecond)
				}
			}
		}
	}
}

func modeText(r *Report) string {
	if r.Mode == "open-loop" {
		return fmt.Sprintf("open loop at %.0f arrivals/s (up to %d in flight)", r.RatePerSecond, r.Connections)
	}
	return fmt.Sprintf("closed loop with %d connections", r.Connections)
}

func writeEndpointTable(w io.Writer, eps []EndpointSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\tcount\trate/s\tp50\tp90\tp99\tp99.9\tmax\terrors\tstatuses\t")
	for _, e := range eps {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", e.Name, e.Count, e.RatePerSecond,
			fmtMicros(e.P50Micros), fmtMicros(e.P90Micros), fmtMicros(e.P99Micros), fmtMicros(e.P999Micros),
			fmtMicros(e.MaxMicros), e.Errors, statusText(e.Statuses))
	}
	tw.Flush()
}

// sortedStatuses returns the status keys in order, "error" last.
func sortedStatuses(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, ea := strconv.Atoi(keys[i])
		b, eb := strconv.Atoi(keys[j])
		switch {
		case ea == nil && eb == nil:
			return a < b
		case ea == nil:
			return true
		case eb == nil:
			return false
		}
		return keys[i] < keys[j]
	})
	return keys
}

func statusText(m map[string]int64) string {
	var parts []string
	for _, k := range sortedStatuses(m) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// isTerminal reports whether w is a terminal (for the live progress line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine is the live line printed once a second on a terminal.
func progressLine(label string, p SeriesPoint, all *Histogram, errs int64) string {
	rate := 0.0
	if p.Seconds > 0 {
		rate = float64(p.All.Count) / p.Seconds
	}
	return fmt.Sprintf("\r%s %5.0fs  %8.0f req/s  errors %d  p99 so far %s\x1b[K", label, p.EndSeconds, rate, errs,
		fmtMicros(all.Quantile(0.99)))
}
