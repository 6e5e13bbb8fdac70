package sim

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// The on-sale's HTML report: the comparison table, the checks, and charts
// of the show over time with and without the room.

var saleColors = map[bool]string{true: "#2563eb", false: "#d97706"}

func saleName(room bool) string {
	if room {
		return "with the room"
	}
	return "without"
}

// saleChart draws one figure of every run over the seconds of the run.
func saleChart(id, title, note, ylabel string, rs []*saleResult, y func(p salePoint) float64, only func(r *saleResult) bool) chart {
	maxT, maxY := 1.0, 1.0
	var lines []line
	for _, r := range rs {
		if only != nil && !only(r) {
			continue
		}
		l := line{name: saleName(r.Room), color: saleColors[r.Room], width: 2}
		l.xs, l.ys = decimate(r, y)
		for i := range l.xs {
			maxT, maxY = math.Max(maxT, l.xs[i]), math.Max(maxY, l.ys[i])
		}
		lines = append(lines, l)
	}
	minT := 0.0
	for _, r := range rs {
		minT = math.Min(minT, -r.OpensAt)
	}
	c := chart{id: id, title: title, note: note, w: chartW, h: chartH}
	c.x.label = "seconds since the on-sale opened"
	c.x.ticks, c.x.min, c.x.max = linearTicks(minT, maxT, 6, func(v float64) string { return trimFloat(v) })
	c.y.label = ylabel
	c.y.ticks, c.y.min, c.y.max = linearTicks(0, maxY*1.05, 5, func(v float64) string { return fmtCount(v) })
	c.lines = lines
	return c
}

// maxChartPoints bounds the points of one line: longer runs are drawn by
// the largest value of each group of seconds, so peaks stay visible.
const maxChartPoints = 600

// decimate returns a run's seconds (since opening) and y values, at most
// maxChartPoints of them.
func decimate(r *saleResult, y func(p salePoint) float64) (xs, ys []float64) {
	k := (len(r.Series) + maxChartPoints - 1) / maxChartPoints
	for i := 0; i < len(r.Series); i += max(k, 1) {
		v := 0.0
		for j := i; j < i+max(k, 1) && j < len(r.Series); j++ {
			v = math.Max(v, y(r.Series[j]))
		}
		xs, ys = append(xs, float64(i)-r.OpensAt), append(ys, v)
	}
	return xs, ys
}

func saleCharts(rs []*saleResult) []template.HTML {
	room := func(r *saleResult) bool { return r.Room }
	cs := []chart{
		saleChart("avail", "Seats available", "seats no one holds, reserves or bought", "seats", rs,
			func(p salePoint) float64 { return float64(p.Available) }, nil),
		saleChart("sold", "Seats sold", "paid orders' seats", "seats", rs,
			func(p salePoint) float64 { return float64(p.Sold) }, nil),
		saleChart("writes", "Writes per second", "journal records the show wrote", "records / s", rs,
			func(p salePoint) float64 { return float64(p.Writes) }, nil),
		saleChart("cmds", "Commands per second", "everything the show's actor applied, reads and refusals included", "commands / s", rs,
			func(p salePoint) float64 { return float64(p.Commands) }, nil),
		saleChart("holds", "Hold requests per second", "granted and refused", "holds / s", rs,
			func(p salePoint) float64 { return float64(p.Holds + p.HoldsRefused) }, nil),
		saleChart("wl", "Waitlist entries waiting", "", "entries", rs,
			func(p salePoint) float64 { return float64(p.WaitlistWaiting) }, nil),
		saleChart("waiting", "Waiting room: fans in line", "", "fans", rs,
			func(p salePoint) float64 { return float64(p.Waiting) }, room),
		saleChart("live", "Waiting room: passes live / holding nothing yet", "live passes (solid); admitted who hold nothing (dashed)", "passes", rs,
			func(p salePoint) float64 { return float64(p.Live) }, room),
	}
	// the unconverted passes, dashed, on the passes chart
	for _, r := range rs {
		if !r.Room {
			continue
		}
		l := line{name: "holding nothing", color: "#059669", width: 1.6, dash: "5,3"}
		l.xs, l.ys = decimate(r, func(p salePoint) float64 { return float64(p.Unconverted) })
		cs[len(cs)-1].lines = append(cs[len(cs)-1].lines, l)
	}
	out := make([]template.HTML, len(cs))
	for i, c := range cs {
		out[i] = template.HTML(c.svg()) // built from numbers and escaped names
	}
	return out
}

var saleTmpl = template.Must(template.New("onsale").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>boxoffice sim onsale</title>
<style>
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#111827;background:#f3f4f6;margin:0}
main{max-width:1360px;margin:0 auto;padding:18px 24px 40px}h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 8px}
.sub{color:#4b5563;margin-bottom:14px}pre{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px;overflow-x:auto}
.charts{display:grid;grid-template-columns:repeat(2,660px);gap:14px;justify-content:center}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px;max-width:100%;height:auto}
.ct{font-size:15px;font-weight:650;fill:#111827}.cn{font-size:11.5px;fill:#6b7280}
.grid{stroke:#e5e7eb;stroke-width:1}.frame{fill:none;stroke:#9ca3af}
.yt{font-size:11px;fill:#4b5563;text-anchor:end}.xt{font-size:11px;fill:#4b5563;text-anchor:middle}
.xl,.yl{font-size:12px;fill:#374151;text-anchor:middle}.lg{font-size:12px;fill:#374151}
</style></head><body><main>
<h1>boxoffice sim onsale</h1>
<div class="sub">{{.Sub}}</div>
<h2>Figures</h2><pre>{{.Table}}</pre>
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
</main></body></html>
`))

func writeSaleHTML(w io.Writer, rs []*saleResult) error {
	var table bytes.Buffer
	writeSaleTable(&table, rs)
	var sub []string
	for _, r := range rs {
		sub = append(sub, fmt.Sprintf("%s: %s, %d fans, %d seats, seed %d", saleName(r.Room), r.Target, r.Fans, r.Seats, r.Seed))
	}
	return saleTmpl.Execute(w, struct {
		Sub    string
		Table  string
		Charts []template.HTML
	}{strings.Join(sub, " · "), table.String(), saleCharts(rs)})
}
