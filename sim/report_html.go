package sim

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// endpointColors gives each endpoint the same color in every chart.
var endpointColors = map[string]string{
	epHold: "#2563eb", epOrder: "#d97706", epPay: "#059669", epGetShow: "#7c3aed",
	epGetSeats: "#db2777", epRelease: "#0891b2", epCreateShow: "#6b7280", "all": "#111827",
}

func colorOf(name string) string {
	if c, ok := endpointColors[name]; ok {
		return c
	}
	return "#9ca3af"
}

// Chart sizes, in pixels.
const (
	chartW = 660
	chartH = 330
)

// throughputChart: requests per second over time, in total and per endpoint.
func throughputChart(r *Report) chart {
	total := line{name: "all requests", color: colorOf("all"), width: 2.6}
	per := map[string]*line{}
	var lines []*line
	for _, e := range r.Endpoints {
		l := &line{name: e.Name, color: colorOf(e.Name)}
		per[e.Name] = l
		lines = append(lines, l)
	}
	maxY := 1.0
	for _, p := range r.Series {
		if p.Seconds < minIntervalSeconds {
			continue
		}
		t := p.EndSeconds - p.Seconds/2
		y := float64(p.All.Count) / p.Seconds
		maxY = math.Max(maxY, y)
		total.xs, total.ys = append(total.xs, t), append(total.ys, y)
		for name, s := range p.Endpoints {
			if l := per[name]; l != nil {
				l.xs, l.ys = append(l.xs, t), append(l.ys, float64(s.Count)/p.Seconds)
			}
		}
	}
	c := chart{id: "tput", title: "Throughput over time", note: "requests completed per second", w: chartW, h: chartH,
		x: timeAxis(seriesEnd(r))}
	c.y.label = "requests / s"
	c.y.ticks, c.y.min, c.y.max = linearTicks(0, maxY*1.05, 5, func(v float64) string { return fmtCount(v) })
	c.lines = append(c.lines, total)
	for _, l := range lines {
		c.lines = append(c.lines, *l)
	}
	return c
}

// timeAxis spans exactly [0, maxT] seconds, with nice ticks inside it.
func timeAxis(maxT float64) axis {
	a := axis{label: "seconds since start", min: 0, max: maxT}
	ts, _, _ := linearTicks(0, maxT, 6, func(v float64) string { return trimFloat(v) + "s" })
	for _, t := range ts {
		if t.v <= maxT+1e-9 {
			a.ticks = append(a.ticks, t)
		}
	}
	return a
}

// minIntervalSeconds: shorter intervals (the last sliver of a run) are left
// out of the time charts, where their few requests would plot as noise.
const minIntervalSeconds = 0.25

// seriesEnd is the end of the run's last interval, in seconds (at least 1).
func seriesEnd(r *Report) float64 {
	end := 1.0
	for _, p := range r.Series {
		end = math.Max(end, p.EndSeconds)
	}
	return end
}

// latencyOverTimeChart: p50/p90/p99/max of all requests, per interval.
func latencyOverTimeChart(r *Report) chart {
	specs := []struct {
		name, color, dash string
		get               func(IntervalStats) int64
	}{
		{"p50", "#16a34a", "", func(s IntervalStats) int64 { return s.P50Micros }},
		{"p90", "#ca8a04", "", func(s IntervalStats) int64 { return s.P90Micros }},
		{"p99", "#dc2626", "", func(s IntervalStats) int64 { return s.P99Micros }},
		{"max", "#6b7280", "5 4", func(s IntervalStats) int64 { return s.MaxMicros }},
	}
	lo, hi := math.Inf(1), 0.0
	c := chart{id: "lat", title: "Latency over time (all requests)", note: latencyNote(r), w: chartW, h: chartH}
	for _, sp := range specs {
		l := line{name: sp.name, color: sp.color, dash: sp.dash}
		for _, p := range r.Series {
			if p.All.Count == 0 || p.Seconds < minIntervalSeconds {
				continue
			}
			ms := float64(sp.get(p.All)) / 1000
			l.xs, l.ys = append(l.xs, p.EndSeconds-p.Seconds/2), append(l.ys, ms)
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		}
		c.lines = append(c.lines, l)
	}
	c.x = timeAxis(seriesEnd(r))
	c.y = latencyAxis("latency (log scale)", lo, hi)
	return c
}

// p99ByEndpointChart: each endpoint's p99 per interval.
func p99ByEndpointChart(r *Report) chart {
	lo, hi := math.Inf(1), 0.0
	c := chart{id: "p99ep", title: "p99 latency by endpoint over time", note: "per 1-second interval", w: chartW, h: chartH}
	for _, e := range r.Endpoints {
		l := line{name: e.Name, color: colorOf(e.Name)}
		for _, p := range r.Series {
			s, ok := p.Endpoints[e.Name]
			if !ok || s.Count == 0 || p.Seconds < minIntervalSeconds {
				continue
			}
			ms := float64(s.P99Micros) / 1000
			l.xs, l.ys = append(l.xs, p.EndSeconds-p.Seconds/2), append(l.ys, ms)
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		}
		c.lines = append(c.lines, l)
	}
	c.x = timeAxis(seriesEnd(r))
	c.y = latencyAxis("p99 latency (log scale)", lo, hi)
	return c
}

// hdrChart: latency by percentile for each endpoint (and the ceiling's).
func hdrChart(r *Report) chart {
	lo, hi := math.Inf(1), 0.0
	decades := 1.0
	type src struct {
		e          EndpointSummary
		name, dash string
		color      string
	}
	var srcs []src
	for _, e := range r.Endpoints {
		srcs = append(srcs, src{e, e.Name, "", colorOf(e.Name)})
	}
	if r.Ceiling != nil {
		srcs = append(srcs, src{r.Ceiling.All, "no-op ceiling (all)", "6 4", "#9ca3af"})
	}
	for _, s := range srcs {
		if s.e.Count > 0 {
			decades = math.Max(decades, math.Log10(float64(s.e.Count)))
		}
	}
	maxX := math.Ceil(decades) + 0.5
	c := chart{id: "hdr", title: "Latency distribution by endpoint (HDR)", note: "latency at each percentile, over the whole run",
		w: chartW, h: chartH, x: percentileAxis(decades)}
	for _, s := range srcs {
		l := line{name: s.name, color: s.color, dash: s.dash}
		for _, p := range s.e.Curve {
			ms := float64(p.ValueMicros) / 1000
			l.xs, l.ys = append(l.xs, percentileX(p.Percentile, maxX)), append(l.ys, ms)
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		}
		c.lines = append(c.lines, l)
	}
	c.y = latencyAxis("latency (log scale)", lo, hi)
	return c
}

func latencyNote(r *Report) string {
	if r.Mode == "open-loop" {
		return "per 1-second interval; measured from each arrival's intended send time"
	}
	return "per 1-second interval; closed loop: measured from the send time"
}

// fmtCount formats a count for axes and cards: 950, 12.5k, 3.2M.
func fmtCount(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return trimFloat(v/1e6) + "M"
	case math.Abs(v) >= 1e4:
		return trimFloat(v/1e3) + "k"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return trimFloat(math.Round(v*10) / 10)
}

// statusClass colors a status cell: ok, expected refusal, error.
func statusClass(code string) string {
	switch {
	case strings.HasPrefix(code, "2"):
		return "ok"
	case code == "409":
		return "refused"
	}
	return "bad"
}

// htmlView is what the template renders.
type htmlView struct {
	R          *Report
	Mode       string
	Passed     int
	Charts     []template.HTML
	StatusCols []string
	Rows       []htmlRow
	CeilRows   []htmlRow
	Failed     []Check
	Started    string
}

type htmlRow struct {
	E     EndpointSummary
	Cells []htmlCell
}

type htmlCell struct {
	N     int64
	Class string
}

func rowsOf(eps []EndpointSummary, cols []string) []htmlRow {
	var rows []htmlRow
	for _, e := range eps {
		row := htmlRow{E: e}
		for _, c := range cols {
			row.Cells = append(row.Cells, htmlCell{N: e.Statuses[c], Class: statusClass(c)})
		}
		rows = append(rows, row)
	}
	return rows
}

// writeHTML renders r as one self-contained HTML page.
func writeHTML(w io.Writer, r *Report) error {
	v := htmlView{R: r, Mode: modeText(r), Started: r.StartedAt.Format("2006-01-02 15:04:05 UTC")}
	for _, c := range r.Checks {
		if c.OK {
			v.Passed++
		} else {
			v.Failed = append(v.Failed, c)
		}
	}
	for _, c := range []chart{throughputChart(r), latencyOverTimeChart(r), hdrChart(r), p99ByEndpointChart(r)} {
		v.Charts = append(v.Charts, template.HTML(c.svg())) //nolint:gosec // built from escaped text
	}
	v.StatusCols = sortedStatuses(r.All.Statuses)
	v.Rows = rowsOf(append(append([]EndpointSummary(nil), r.Endpoints...), r.All), v.StatusCols)
	if r.Ceiling != nil {
		v.CeilRows = rowsOf(append(append([]EndpointSummary(nil), r.Ceiling.Endpoints...), r.Ceiling.All), sortedStatuses(r.Ceiling.All.Statuses))
	}
	return reportTmpl.Execute(w, v)
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"us":    fmtMicros,
	"count": func(v float64) string { return fmtCount(v) },
	"pct":   func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
	"f0":    func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f1":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"color": func(name string) template.CSS { return template.CSS(colorOf(name)) },
	"int64": func(v float64) int64 { return int64(math.Round(v)) },
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>boxoffice load · {{.R.Scenario}}</title>
<style>
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#111827;background:#f3f4f6;margin:0}
main{max-width:1360px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:24px;margin:0 0 2px}h2{font-size:17px;margin:26px 0 8px}
.sub{color:#4b5563;margin-bottom:14px}
.verdict{padding:10px 16px;border-radius:8px;font-weight:600;font-size:16px;margin-bottom:14px}
.verdict.pass{background:#dcfce7;color:#14532d;border:1px solid #86efac}
.verdict.fail{background:#fee2e2;color:#7f1d1d;border:1px solid #fca5a5}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-bottom:16px}
.card{background:#fff;border-radius:8px;padding:12px 16px;border:1px solid #e5e7eb}
.card .k{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:26px;font-weight:650;margin-top:2px}
.card .d{color:#4b5563;font-size:12.5px}
.card.ceil{border:2px solid #2563eb}
.charts{display:grid;grid-template-columns:repeat(2,660px);gap:14px;justify-content:center}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px;max-width:100%;height:auto}
.ct{font-size:15px;font-weight:650;fill:#111827}.cn{font-size:11.5px;fill:#6b7280}
.grid{stroke:#e5e7eb;stroke-width:1}.frame{fill:none;stroke:#9ca3af}
.yt{font-size:11px;fill:#4b5563;text-anchor:end}.xt{font-size:11px;fill:#4b5563;text-anchor:middle}
.xl,.yl{font-size:12px;fill:#374151;text-anchor:middle}.lg{font-size:12px;fill:#374151}
table{border-collapse:collapse;background:#fff;border:1px solid #e5e7eb;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid #f0f0f0;text-align:right}
th{background:#f9fafb;font-weight:600;color:#374151}td:first-child,th:first-child{text-align:left}
tr.all td{font-weight:650;border-top:2px solid #d1d5db}
td.ok{color:#166534}td.refused{color:#1e40af}td.bad{color:#b91c1c;font-weight:600}td.zero{color:#d1d5db}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
ul.checks{list-style:none;padding:0;margin:0}ul.checks li{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:7px 12px;margin-bottom:6px}
.tag{display:inline-block;min-width:44px;text-align:center;border-radius:4px;font-weight:700;font-size:12px;padding:1px 6px;margin-right:8px}
.tag.ok{background:#dcfce7;color:#166534}.tag.fail{background:#fee2e2;color:#991b1b}
.small{color:#6b7280;font-size:12.5px}
</style></head><body><main>
<h1>boxoffice load · {{.R.Scenario}}</h1>
<div class="sub">{{.R.Target}} · {{.Mode}} · {{f1 .R.ElapsedSeconds}} s (planned {{f0 .R.DurationSeconds}} s) · seed {{.R.Seed}} · started {{.Started}}</div>
{{if .Failed}}<div class="verdict fail">INVARIANT FAILED: {{range .Failed}}{{.Name}}: {{.Detail}}. {{end}}</div>
{{else if .R.Checks}}<div class="verdict pass">Invariants hold: {{.Passed}} of {{len .R.Checks}} checks passed (no seat in two holds, counters add up to capacity)</div>
{{else}}<div class="verdict fail">No invariant was checked</div>{{end}}
<div class="cards">
{{with .R.Ceiling}}<div class="card ceil"><div class="k">Ceiling ratio</div><div class="v">{{pct .Ratio}}</div><div class="d">boxoffice {{count $.R.ThroughputPerSecond}} req/s vs no-op server {{count .ThroughputPerSecond}} req/s</div></div>{{end}}
<div class="card"><div class="k">Throughput</div><div class="v">{{count .R.ThroughputPerSecond}} req/s</div><div class="d">{{.R.Requests}} requests, {{.R.Arrivals}} arrivals{{if .R.Missed}}, {{.R.Missed}} missed{{end}}</div></div>
<div class="card"><div class="k">Errors</div><div class="v">{{.R.Errors}}</div><div class="d">no answer, 5xx, or 4xx other than 409</div></div>
<div class="card"><div class="k">Latency p50 / p99</div><div class="v">{{us .R.All.P50Micros}} / {{us .R.All.P99Micros}}</div><div class="d">p99.9 {{us .R.All.P999Micros}} · max {{us .R.All.MaxMicros}}</div></div>
</div>
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
<h2>Endpoints</h2>
<table><tr><th>endpoint</th><th>count</th><th>rate/s</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th>{{range .StatusCols}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if eq .E.Name "all"}} class="all"{{end}}><td><span class="dot" style="background:{{color .E.Name}}"></span>{{.E.Name}}</td><td>{{.E.Count}}</td><td>{{f0 .E.RatePerSecond}}</td><td>{{us (int64 .E.MeanMicros)}}</td><td>{{us .E.P50Micros}}</td><td>{{us .E.P90Micros}}</td><td>{{us .E.P99Micros}}</td><td>{{us .E.P999Micros}}</td><td>{{us .E.MaxMicros}}</td><td>{{.E.Errors}}</td>{{range .Cells}}<td class="{{if .N}}{{.Class}}{{else}}zero{{end}}">{{.N}}</td>{{end}}</tr>
{{end}}</table>
<p class="small">Status columns: 2xx green; 409 (seat taken, sold out: the service refusing correctly) blue; anything else red. "error" = no answer (timeout, connection).</p>
<h2>Invariants</h2>
<ul class="checks">{{range .R.Checks}}<li><span class="tag {{if .OK}}ok{{else}}fail{{end}}">{{if .OK}}OK{{else}}FAIL{{end}}</span><b>{{.Name}}</b> — {{.Detail}}</li>{{end}}</ul>
{{with .R.Ceiling}}<h2>Ceiling run (no-op server)</h2>
<p class="small">{{.Target}}: same scenario, same load, every request body decoded and nothing booked. {{.Note}}.</p>
<table><tr><th>endpoint</th><th>count</th><th>rate/s</th><th>p50</th><th>p99</th><th>max</th><th>errors</th></tr>
{{range $.CeilRows}}<tr{{if eq .E.Name "all"}} class="all"{{end}}><td>{{.E.Name}}</td><td>{{.E.Count}}</td><td>{{f0 .E.RatePerSecond}}</td><td>{{us .E.P50Micros}}</td><td>{{us .E.P99Micros}}</td><td>{{us .E.MaxMicros}}</td><td>{{.E.Errors}}</td></tr>
{{end}}</table>{{end}}
<h2>Parameters</h2>
<p class="small">{{range $k, $v := .R.Params}}{{$k}}={{$v}} · {{end}}generated by boxoffice load; latency from a log-linear histogram (buckets ≤ 0.8% wide).</p>
</main></body></html>
`
