package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// httpSale runs the on-sale's fans against a server over HTTP, in real
// time ("boxoffice load onsale"). Each fan's calls run on its own goroutine,
// one at a time; once a second the run reads the show's document and the
// server's /metrics (commands the actors applied, journal records) for the
// figures.
type httpSale struct {
	r       *saleRun
	c       *httpClient
	start   time.Time
	stopped atomic.Bool
	calls   sync.WaitGroup
	mu      sync.Mutex // protects r.metrics
}

func (h *httpSale) now() time.Duration { return time.Since(h.start) }

func (h *httpSale) after(d time.Duration, fn func()) {
	if h.stopped.Load() {
		return
	}
	h.calls.Add(1)
	time.AfterFunc(d, func() {
		defer h.calls.Done()
		if !h.stopped.Load() {
			fn()
		}
	})
}

// call sends c, counts it in the current second, and decodes into out.
func (h *httpSale) call(c call, out any) error {
	_, err := h.c.do(context.Background(), c, out)
	h.mu.Lock()
	pt := h.r.metrics.at(h.now())
	pt.Commands++
	if c.method == "GET" {
		pt.Reads++
	}
	if strings.HasSuffix(c.path, "/holds") {
		if err == nil {
			pt.Holds++
		} else {
			pt.HoldsRefused++
		}
	}
	h.mu.Unlock()
	if err != nil && !isAPIError(err) {
		h.r.fail(err) // no answer
	}
	return err
}

func isAPIError(err error) bool {
	var a *APIError
	return errors.As(err, &a)
}

func (h *httpSale) showPath() string { return "/v1/shows/" + url.PathEscape(h.r.cfg.ID) }

type ticketJSON struct {
	Ticket          string `json:"ticket"`
	State           string `json:"state"`
	Position        int    `json:"position"`
	Pass            string `json:"pass"`
	ReturnsPossible int    `json:"returns_possible"`
}

func (t ticketJSON) info() ticketInfo {
	return ticketInfo{ID: t.Ticket, State: t.State, Pass: t.Pass, Position: t.Position, ReturnsPossible: t.ReturnsPossible}
}

func (h *httpSale) join(f *fan, done func(ticketInfo, error)) {
	var t ticketJSON
	err := h.call(call{method: "POST", path: h.showPath() + "/queue", body: map[string]string{"user": f.user}}, &t)
	done(t.info(), err)
}

func (h *httpSale) ticket(f *fan, done func(ticketInfo, error)) {
	var t ticketJSON
	err := h.call(call{method: "GET", path: h.showPath() + "/queue/" + url.PathEscape(f.tk.ID)}, &t)
	done(t.info(), err)
}

func (h *httpSale) hold(f *fan, req seatmap.HoldRequest, done func(seatmap.HoldView, error)) {
	var hj holdJSON
	c := holdCall(req)
	c.passHeader = req.Ticket
	err := h.call(c, &hj)
	v := hj.view()
	v.ExpiresAt = time.Now().Add(h.r.p.holdTTL).UnixMilli()
	done(v, err)
}

type orderViewJSON struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Quantity     int    `json:"quantity"`
	PaymentDueAt string `json:"payment_due_at"`
}

func (o orderViewJSON) view() seatmap.OrderView {
	v := seatmap.OrderView{ID: o.ID, Status: o.Status, Quantity: o.Quantity}
	if t, err := time.Parse(time.RFC3339Nano, o.PaymentDueAt); err == nil {
		v.PaymentDueAt = t.UnixMilli()
	}
	return v
}

func (h *httpSale) order(f *fan, hold string, done func(seatmap.OrderView, error)) {
	var o orderViewJSON
	err := h.call(orderCall(h.r.cfg.ID, hold), &o)
	done(o.view(), err)
}

func (h *httpSale) pay(f *fan, order, token string, done func(seatmap.OrderView, error)) {
	var o orderViewJSON
	err := h.call(call{method: "POST", path: "/v1/orders/" + url.PathEscape(order) + "/pay", body: payBody{PaymentToken: token}}, &o)
	done(o.view(), err)
}

func (h *httpSale) getOrder(f *fan, order string, done func(seatmap.OrderView, error)) {
	var o orderViewJSON
	err := h.call(call{method: "GET", path: "/v1/orders/" + url.PathEscape(order)}, &o)
	done(o.view(), err)
}

type entryJSON struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	Quantity       int    `json:"quantity"`
	Hold           string `json:"hold"`
	OfferExpiresAt string `json:"offer_expires_at"`
}

func (e entryJSON) view() seatmap.WaitlistEntryView {
	v := seatmap.WaitlistEntryView{ID: e.ID, State: e.State, Quantity: e.Quantity, HoldID: e.Hold}
	if t, err := time.Parse(time.RFC3339Nano, e.OfferExpiresAt); err == nil {
		v.OfferExpiresAt = t.UnixMilli()
	}
	return v
}

func (h *httpSale) waitJoin(f *fan, req seatmap.WaitlistRequest, done func(seatmap.WaitlistEntryView, error)) {
	body := map[string]any{"user": req.User, "quantity": req.Quantity, "together": req.Together}
	if req.Section != "" {
		body["section"] = req.Section
	}
	if req.Tier != "" {
		body["tier"] = req.Tier
	}
	var e entryJSON
	err := h.call(call{method: "POST", path: h.showPath() + "/waitlist", body: body}, &e)
	done(e.view(), err)
}

func (h *httpSale) waitGet(f *fan, entry string, done func(seatmap.WaitlistEntryView, error)) {
	var e entryJSON
	err := h.call(call{method: "GET", path: h.showPath() + "/waitlist/" + url.PathEscape(entry)}, &e)
	done(e.view(), err)
}

// showJSON is the part of the show document the run samples.
type showJSON struct {
	Totals seatmap.Totals `json:"totals"`
	Queue  *struct {
		Waiting, Live, Unconverted int
	} `json:"queue"`
	Waitlist *struct {
		Waiting int
	} `json:"waitlist"`
}

// sample reads the show and the server's counters once a second until stop.
func (h *httpSale) sample(stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastCmds, lastRecs float64
	first := true
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var s showJSON
		_, errShow := h.c.do(context.Background(), getShowCall(h.r.cfg.ID), &s)
		cmds, recs, errMet := h.serverCounters()
		h.mu.Lock()
		pt := h.r.metrics.at(h.now() - 500*time.Millisecond) // the second that just ended
		if errShow == nil {
			pt.Available, pt.Sold, pt.HeldReserved = s.Totals.Available, s.Totals.Sold, s.Totals.Held+s.Totals.Reserved
			if s.Queue != nil {
				pt.Waiting, pt.Live, pt.Unconverted = s.Queue.Waiting, s.Queue.Live, s.Queue.Unconverted
			}
			if s.Waitlist != nil {
				pt.WaitlistWaiting = s.Waitlist.Waiting
			}
			pt.sampled = true
		}
		if errMet == nil {
			if !first {
				pt.Writes = int(recs - lastRecs)
				pt.serverCommands = int(cmds - lastCmds)
			}
			lastCmds, lastRecs, first = cmds, recs, false
		}
		h.mu.Unlock()
	}
}

// serverCounters reads boxoffice_commands_total and
// boxoffice_journal_records_total from /metrics.
func (h *httpSale) serverCounters() (cmds, recs float64, err error) {
	var body []byte
	_, err = h.c.doRaw(context.Background(), call{method: "GET", path: "/metrics"}, &body)
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, perr := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if perr != nil {
			continue
		}
		switch name {
		case "boxoffice_commands_total":
			cmds = v
		case "boxoffice_journal_records_total":
			recs = v
		}
	}
	return cmds, recs, nil
}

// doRaw sends c and returns the raw 2xx body in *out.
func (h *httpClient) doRaw(ctx context.Context, c call, out *[]byte) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(c.method)
	req.SetRequestURI(c.path)
	req.Header.SetHost(h.host)
	if err := h.hc.DoTimeout(req, resp, h.timeout); err != nil {
		return 0, err
	}
	if resp.StatusCode() != 200 {
		return resp.StatusCode(), fmt.Errorf("%s %s: status %d", c.method, c.path, resp.StatusCode())
	}
	*out = append((*out)[:0], resp.Body()...)
	return 200, nil
}

// runHTTPSale runs one on-sale against target.
func runHTTPSale(c *httpClient, p saleParams, runID string, out io.Writer) (*saleResult, error) {
	r := &saleRun{p: p, opensAt: p.preOpen, metrics: &saleMetrics{}, errs: errorCounts{}}
	h := &httpSale{r: r, c: c}
	h.start = time.Now()
	r.startMs = h.start.UnixMilli()
	name := "nr"
	if p.room {
		name = "r"
	}
	r.cfg = saleShowConfig(runID+"-"+name, p, h.start.Add(p.preOpen))
	if _, err := c.do(context.Background(), createShowCall(r.cfg), nil); err != nil {
		return nil, fmt.Errorf("creating the show: %w", err)
	}
	newFans(r, h)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { h.sample(stop); close(sampled) }()
	for _, f := range r.fans {
		h.after(f.arrive, f.start)
	}
	end := r.opensAt + p.horizon
	for h.now() < end {
		time.Sleep(time.Second)
		fmt.Fprintf(out, "\r%s %4.0f s / %.0f s", map[bool]string{true: "with the room", false: "without"}[p.room],
			h.now().Seconds(), end.Seconds())
	}
	fmt.Fprintln(out)
	h.stopped.Store(true)
	close(stop)
	<-sampled
	h.calls.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range r.metrics.points {
		pt := &r.metrics.points[i]
		pt.Commands = pt.serverCommands // the actors' count: every command, reads and refusals included
	}
	return r.result(c.base, nil), nil
}

// OnsaleLoadMain runs "boxoffice load onsale --target URL --admin-token T
// [--fans N --seats N --time-scale K --seed S --report out.html]": the
// on-sale in real time against a server, with and without the room.
func OnsaleLoadMain(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("load onsale", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("target", "", "server root URL, loopback only (http://127.0.0.1:8080)")
	admin := fs.String("admin-token", "", "admin bearer token, for creating the run's shows")
	fans := fs.Int("fans", 2000, "fans")
	seats := fs.Int("seats", 400, "seats")
	scale := fs.Float64("time-scale", 0.1, "multiply every duration of the on-sale by this (0.1: 40 min run in 4 min)")
	seed := fs.Uint64("seed", 0, "random seed (0 = from the clock)")
	conns := fs.Int("connections", 512, "maximum HTTP connections")
	only := fs.String("only", "", "run only \"room\" or \"no-room\"")
	report := fs.String("report", "", "write an HTML report with charts to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fans < 1 || *fans > maxLoadUsers || *seats < 50 || *seats > maxLoadSeats || *scale <= 0 || *scale > 1 {
		fmt.Fprintf(stdout, "load onsale: --fans must be in 1..%d, --seats in 50..%d, --time-scale in (0, 1]\n", maxLoadUsers, maxLoadSeats)
		return 2
	}
	c, err := newHTTPClient(*target, *admin, *conns, 10*time.Second)
	if err != nil {
		fmt.Fprintln(stdout, "load onsale:", err)
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	runID := newRunID("os")
	fmt.Fprintf(stdout, "load onsale against %s: %d fans, %d seats, time scale %g, run %s, seed %d (rerun with --seed %d)\n",
		*target, *fans, *seats, *scale, runID, *seed, *seed)
	var results []*saleResult
	for _, room := range []bool{true, false} {
		if *only == "room" && !room || *only == "no-room" && room {
			continue
		}
		p := fullSale(room, *seed).scaled(*fans, *seats, *scale)
		start := time.Now()
		res, err := runHTTPSale(c, p, runID, stdout)
		if err != nil {
			fmt.Fprintln(stdout, "load onsale:", err)
			return 2
		}
		res.WallSeconds = time.Since(start).Seconds()
		results = append(results, res)
	}
	ok := writeSaleTable(stdout, results)
	if *report != "" {
		if err := writeSaleHTMLFile(*report, results); err != nil {
			fmt.Fprintln(stdout, "load onsale:", err)
			return 2
		}
		fmt.Fprintln(stdout, "report written to", *report)
	}
	if !ok {
		return 1
	}
	return 0
}
