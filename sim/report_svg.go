package sim

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// A small SVG line-chart renderer for the HTML report: no scripts, no
// external assets.

// line is one series of a chart.
type line struct {
	name  string
	color string
	xs    []float64
	ys    []float64
	width float64
	dash  string // SVG stroke-dasharray, "" for solid
}

// tick is one labelled axis position (in axis units, before any log).
type tick struct {
	v     float64
	label string
}

// axis maps values to pixels; with log set, values are log10'd first.
type axis struct {
	label    string
	log      bool
	min, max float64 // in axis units (already log10'd when log)
	ticks    []tick
}

func (a axis) pos(v float64, from, to float64) float64 {
	if a.log {
		v = math.Log10(math.Max(v, 1e-9))
	}
	if a.max <= a.min {
		return from
	}
	f := (v - a.min) / (a.max - a.min)
	return from + f*(to-from)
}

// chart is one line chart.
type chart struct {
	title string
	w, h  int
	x, y  axis
	lines []line
	note  string // shown under the title, small
	id    string // unique in the page (for the clip path)
}

// Chart margins, in pixels.
const (
	chartLeft   = 70
	chartRight  = 20
	chartTop    = 48
	chartBottom = 70
)

// svg renders the chart.
func (c chart) svg() string {
	var b strings.Builder
	x0, x1 := float64(chartLeft), float64(c.w-chartRight)
	y0, y1 := float64(c.h-chartBottom), float64(chartTop)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" class="chart" role="img" aria-label="%s">`,
		c.w, c.h, c.w, c.h, esc(c.title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, c.w, c.h)
	fmt.Fprintf(&b, `<text x="%d" y="20" class="ct">%s</text>`, chartLeft, esc(c.title))
	if c.note != "" {
		fmt.Fprintf(&b, `<text x="%d" y="37" class="cn">%s</text>`, chartLeft, esc(c.note))
	}
	// grid and ticks
	for _, t := range c.y.ticks {
		py := c.y.pos(t.v, y0, y1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x0, py, x1, py)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="yt">%s</text>`, x0-6, py+4, esc(t.label))
	}
	for _, t := range c.x.ticks {
		px := c.x.pos(t.v, x0, x1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, px, y0, px, y1)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="xt">%s</text>`, px, y0+16, esc(t.label))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="frame"/>`, x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="xl">%s</text>`, (x0+x1)/2, y0+34, esc(c.x.label))
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" class="yl">%s</text>`, (y0+y1)/2, esc(c.y.label))
	// series
	fmt.Fprintf(&b, `<clipPath id="clip-%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`, c.id, x0, y1-2, x1-x0, y0-y1+4)
	fmt.Fprintf(&b, `<g clip-path="url(#clip-%s)">`, c.id)
	for _, l := range c.lines {
		if len(l.xs) == 0 {
			continue
		}
		var pts []string
		for i := range l.xs {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x.pos(l.xs[i], x0, x1), c.y.pos(l.ys[i], y0, y1)))
		}
		w := l.width
		if w == 0 {
			w = 1.8
		}
		dash := ""
		if l.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, l.dash)
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round"%s/>`,
			strings.Join(pts, " "), l.color, w, dash)
		if len(l.xs) == 1 {
			fmt.Fprintf(&b, `<circle cx="%s" r="3" fill="%s"/>`, strings.Replace(pts[0], ",", `" cy="`, 1), l.color)
		}
	}
	b.WriteString(`</g>`)
	// legend, under the x label, wrapped onto a second row when too wide
	lx, ly := x0, float64(c.h-20)
	for _, l := range c.lines {
		wid := 34 + 6.8*float64(len([]rune(l.name)))
		if lx+wid > float64(c.w) && lx > x0 {
			lx, ly = x0, ly+15
		}
		dash := ""
		if l.dash != "" {
			dash = ` stroke-dasharray="` + l.dash + `"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"%s/>`, lx, ly-4, lx+18, ly-4, l.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="lg">%s</text>`, lx+23, ly, esc(l.name))
		lx += wid
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// linearTicks returns about n nice ticks (1, 2, 5 × 10^k) covering [lo, hi],
// and the rounded-out range.
func linearTicks(lo, hi float64, n int, format func(float64) string) ([]tick, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	var ts []tick
	for v := lo; v <= hi+step/2; v += step {
		ts = append(ts, tick{v, format(v)})
	}
	return ts, lo, hi
}

// latencyAxis is a log10 axis over latencies in milliseconds, with ticks at
// 1, 2, 5 × 10^k (only 10^k when the range spans many decades).
func latencyAxis(label string, minMs, maxMs float64) axis {
	if minMs <= 0 {
		minMs = 0.001
	}
	if maxMs < minMs*2 {
		maxMs = minMs * 2
	}
	lo := math.Floor(math.Log10(minMs))
	hi := math.Ceil(math.Log10(maxMs))
	mults := []float64{1, 2, 5}
	if hi-lo > 4 {
		mults = []float64{1}
	}
	a := axis{label: label, log: true, min: lo, max: hi}
	for e := lo; e <= hi; e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if math.Log10(v) <= hi+1e-9 {
				a.ticks = append(a.ticks, tick{v, fmtMs(v)})
			}
		}
	}
	return a
}

// fmtMs formats milliseconds for axis labels: 0.05ms, 2ms, 1.5s.
func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return trimFloat(ms/1000) + "s"
	case ms >= 1:
		return trimFloat(ms) + "ms"
	}
	return trimFloat(ms*1000) + "µs"
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// percentileX maps a percentile (0..100) to the HDR plot's x: log10(1/(1-q)).
// 100% maps to maxX.
func percentileX(p, maxX float64) float64 {
	if p >= 100 {
		return maxX
	}
	return math.Min(math.Log10(100/(100-p)), maxX)
}

// percentileAxis is the HDR x axis: 0%, 90%, 99%, ... up to the decade the
// counts resolve, with "max" at the right end.
func percentileAxis(decades float64) axis {
	maxX := math.Ceil(decades) + 0.5
	a := axis{label: "percentile (log scale: each step is ten times rarer)", min: 0, max: maxX}
	a.ticks = append(a.ticks, tick{0, "0%"}, tick{math.Log10(2), "50%"})
	label := "90%"
	for d := 1.0; d <= math.Ceil(decades); d++ {
		a.ticks = append(a.ticks, tick{d, label})
		if d == 1 {
			label = "99%"
		} else {
			label = label[:len(label)-1]
			if !strings.Contains(label, ".") {
				label += "."
			}
			label += "9%"
		}
	}
	a.ticks = append(a.ticks, tick{maxX, "max"})
	return a
}
