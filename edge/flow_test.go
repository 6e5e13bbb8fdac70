package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/valyala/fasthttp"
)

type showDoc struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	HoldTTLSeconds    int    `json:"hold_ttl_seconds"`
	PaymentTTLSeconds int    `json:"payment_ttl_seconds"`
	MaxSeatsPerUser   int    `json:"max_seats_per_user"`
	Tiers             []struct {
		ID    string `json:"id"`
		Price int64  `json:"price"`
	} `json:"tiers"`
	Sections []struct {
		ID        string `json:"id"`
		Tier      string `json:"tier"`
		Capacity  int    `json:"capacity"`
		Available int    `json:"available"`
		Held      int    `json:"held"`
		Reserved  int    `json:"reserved"`
		Sold      int    `json:"sold"`
	} `json:"sections"`
	Totals struct {
		Capacity, Available, Held, Reserved, Sold int
	} `json:"totals"`
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm
}

func TestShowDocumentAndSeats(t *testing.T) {
	f := newFixture(t, edge.Options{})
	var d showDoc
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.ID != "s1" || d.Name != "Main" || d.HoldTTLSeconds != 600 || d.PaymentTTLSeconds != 900 || len(d.Tiers) != 2 || len(d.Sections) != 3 {
		t.Fatalf("doc %+v", d)
	}
	if d.Totals.Capacity != 20+100+4 || d.Totals.Available != d.Totals.Capacity {
		t.Fatalf("totals %+v", d.Totals)
	}
	f.hold(t, "s1", `{"user":"u","seats":["s0-1-5","s0-1-6"]}`)
	var seats struct{ Seats map[string]string }
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1/seats?section=s0", ""), &seats)
	if len(seats.Seats) != 20 || seats.Seats["s0-1-5"] != "held" || seats.Seats["s0-1-4"] != "available" {
		t.Fatalf("seats %v", seats.Seats)
	}
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1/seats", ""), &seats)
	if len(seats.Seats) != 24 || seats.Seats["v-A-1"] != "available" {
		t.Fatalf("all seats: %d entries", len(seats.Seats))
	}
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.Totals.Held != 2 || d.Sections[0].Held != 2 || d.Totals.Available != d.Totals.Capacity-2 {
		t.Fatalf("after hold: %+v", d.Totals)
	}
	// A show without an id gets one.
	var g showDoc
	decode(t, f.must(t, 201, "POST", "/v1/shows", `{"name":"gen","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":5}]}`,
		"Authorization", adminAuth), &g)
	if !strings.HasPrefix(g.ID, "show-") || len(g.ID) != 15 || g.Totals.Capacity != 5 {
		t.Fatalf("generated show %+v", g)
	}
	f.must(t, 200, "GET", "/v1/shows/"+g.ID, "")
}

func TestHoldKindsAndLifecycle(t *testing.T) {
	f := newFixture(t, edge.Options{})
	h := f.hold(t, "s1", `{"user":"u1","seats":["s0-1-5","s0-1-6"]}`)
	if h.Show != "s1" || h.User != "u1" || len(h.Seats) != 2 || h.General == nil || h.Quantity != 2 || h.Amount != 10000 {
		t.Fatalf("seat hold %+v", h)
	}
	exp := parseTime(t, h.ExpiresAt)
	if want := time.UnixMilli(f.clock.now()).Add(600 * time.Second); !exp.Equal(want) {
		t.Fatalf("expires %v, want %v", exp, want)
	}
	g := f.hold(t, "s1", `{"user":"u1","section":"pit","quantity":3}`)
	if g.Seats == nil || len(g.Seats) != 0 || g.General["pit"] != 3 || g.Quantity != 3 || g.Amount != 15000 {
		t.Fatalf("GA hold %+v", g)
	}
	v := f.hold(t, "s1", `{"user":"u2","tier":"vip","quantity":2}`)
	if len(v.Seats) != 2 || v.Amount != 24000 {
		t.Fatalf("tier hold %+v", v)
	}
	var got holdBody
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1/holds/"+h.ID, ""), &got)
	if got.ID != h.ID || got.Quantity != 2 {
		t.Fatalf("get hold %+v", got)
	}
	f.clock.ms.Add(10_000)
	decode(t, f.must(t, 200, "POST", "/v1/shows/s1/holds/"+h.ID+"/extend", `{"seconds":3600}`), &got)
	if want := time.UnixMilli(f.clock.now()).Add(time.Hour); !parseTime(t, got.ExpiresAt).Equal(want) {
		t.Fatalf("extended to %s, want %v", got.ExpiresAt, want)
	}
	decode(t, f.must(t, 200, "POST", "/v1/shows/s1/holds/"+h.ID+"/extend", `{"seconds":7200}`), &got)
	if max := parseTime(t, h.ExpiresAt).Add(-600 * time.Second).Add(2 * time.Hour); !parseTime(t, got.ExpiresAt).Equal(max) {
		t.Fatalf("extension not capped: %s, want %v", got.ExpiresAt, max)
	}
	f.must(t, 204, "DELETE", "/v1/shows/s1/holds/"+h.ID, "")
	f.must(t, 404, "GET", "/v1/shows/s1/holds/"+h.ID, "")
	f.must(t, 404, "DELETE", "/v1/shows/s1/holds/"+h.ID, "")
	// Released seats can be held again; a GA hold expires with its TTL.
	f.hold(t, "s1", `{"user":"u3","seats":["s0-1-5"]}`)
	f.clock.ms.Add(601_000)
	f.must(t, 410, "GET", "/v1/shows/s1/holds/"+g.ID, "")
}

func TestOrderLifecycle(t *testing.T) {
	f := newFixture(t, edge.Options{})
	h := f.hold(t, "s1", `{"user":"u1","seats":["s0-1-1"]}`)
	body := `{"show":"s1","hold":"` + h.ID + `"}`
	var o, again orderBody
	decode(t, f.must(t, 201, "POST", "/v1/orders", body, "Idempotency-Key", "key-1"), &o)
	if o.Status != "pending_payment" || o.User != "u1" || o.Amount != 5000 || len(o.Seats) != 1 || o.General == nil ||
		len(o.History) != 1 || o.History[0].Status != "pending_payment" {
		t.Fatalf("order %+v", o)
	}
	if due := parseTime(t, o.PaymentDueAt).Sub(parseTime(t, o.CreatedAt)); due != 900*time.Second {
		t.Fatalf("payment due after %v", due)
	}
	decode(t, f.must(t, 200, "POST", "/v1/orders", body, "Idempotency-Key", "key-1"), &again)
	if again.ID != o.ID {
		t.Fatalf("idempotent replay made %s, want %s", again.ID, o.ID)
	}
	decode(t, f.must(t, 200, "POST", "/v1/orders", body), &again)
	if again.ID != o.ID {
		t.Fatalf("second order of one hold made %s, want %s", again.ID, o.ID)
	}
	decode(t, f.must(t, 202, "POST", "/v1/orders/"+o.ID+"/pay", `{"payment_token":"tok_ok"}`), &again)
	if again.Status != "payment_processing" {
		t.Fatalf("after pay: %s", again.Status)
	}
	decode(t, f.must(t, 200, "GET", "/v1/orders/"+o.ID, ""), &again)
	if again.Status != "paid" || len(again.History) != 3 {
		t.Fatalf("after settlement: %+v", again)
	}
	var d showDoc
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.Totals.Sold != 1 {
		t.Fatalf("totals %+v", d.Totals)
	}
	// Cancel frees the seats.
	h2 := f.hold(t, "s1", `{"user":"u2","section":"pit","quantity":4}`)
	o2 := f.order(t, "s1", h2.ID)
	decode(t, f.must(t, 200, "POST", "/v1/orders/"+o2.ID+"/cancel", ""), &again)
	if again.Status != "cancelled" {
		t.Fatalf("cancel: %s", again.Status)
	}
	f.must(t, 200, "POST", "/v1/orders/"+o2.ID+"/cancel", "{}")
	f.must(t, 409, "POST", "/v1/orders/"+o2.ID+"/pay", `{"payment_token":"tok_ok"}`)
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.Totals.Reserved != 0 || d.Totals.Available != d.Totals.Capacity-1 {
		t.Fatalf("after cancel %+v", d.Totals)
	}
}

func TestOpsEndpoints(t *testing.T) {
	f := newFixture(t, edge.Options{})
	if b := f.must(t, 200, "GET", "/healthz", ""); string(b) != `{"status":"ok"}` {
		t.Fatalf("healthz %s", b)
	}
	var ready struct {
		Status     string
		Components map[string]string
	}
	decode(t, f.must(t, 200, "GET", "/readyz", ""), &ready)
	if ready.Status != "ok" || ready.Components["actors"] != "ok" {
		t.Fatalf("readyz %+v", ready)
	}
	f.hold(t, "s1", `{"user":"u","seats":["s0-1-1"]}`)
	f.must(t, 404, "GET", "/v1/shows/nope", "")
	m := string(f.must(t, 200, "GET", "/metrics", ""))
	for _, want := range []string{
		`boxoffice_http_requests_total{method="POST",route="/v1/shows/{show}/holds",code="201"} 1`,
		`boxoffice_http_requests_total{method="GET",route="/v1/shows/{show}",code="404"} 1`,
		`boxoffice_http_requests_total{method="POST",route="/v1/shows",code="201"} 3`,
		`boxoffice_http_request_duration_seconds_bucket{method="POST",route="/v1/shows/{show}/holds",code="201",le="+Inf"} 1`,
		`boxoffice_http_request_duration_seconds_count{method="POST",route="/v1/shows/{show}/holds",code="201"} 1`,
		"boxoffice_seats_held 1\n",
		"boxoffice_holds_active 1\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// stateBackend wraps a Backend to fail or be unready.
type stateBackend struct {
	edge.Backend
	ready   bool
	holdErr error
	panics  bool
	comps   map[string]string
}

func (s *stateBackend) Status() (bool, map[string]string) { return s.ready, s.comps }

func (s *stateBackend) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	if s.panics {
		panic("backend bug")
	}
	if s.holdErr != nil {
		return seatmap.HoldView{}, false, s.holdErr
	}
	return s.Backend.Hold(ctx, req)
}

func TestUnavailableAndInternal(t *testing.T) {
	b := &stateBackend{Backend: edgetest.NewMemBackend(), comps: map[string]string{"actors": "ok", "redis": "degraded"}}
	var logs syncBuffer
	srv := edgetest.NewServer(t, b, edge.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	srv.CheckContract(t)
	if r := srv.Do(t, "GET", "/readyz", ""); r.Status != 503 {
		t.Fatalf("readyz before ready: %d %s", r.Status, r.Body)
	}
	b.ready = true
	if r := srv.Do(t, "GET", "/readyz", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"degraded"`) {
		t.Fatalf("readyz degraded: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, "POST", "/v1/shows", mainShow, "Authorization", adminAuth); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{&seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "overloaded"}, 503, "unavailable"},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), 503, "unavailable"},
		{errors.New("disk on fire"), 500, "internal"},
	} {
		b.holdErr = c.err
		r := srv.Do(t, "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-1"]}`)
		var e errBody
		decode(t, r.Body, &e)
		if r.Status != c.status || e.Error.Code != c.code {
			t.Fatalf("%v: %d %s", c.err, r.Status, r.Body)
		}
		if c.status == 500 && strings.Contains(string(r.Body), "fire") {
			t.Fatalf("internal error text leaked: %s", r.Body)
		}
	}
	// A panic is a 500, and the server goes on.
	b.holdErr, b.panics = nil, true
	if r := srv.Do(t, "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-1"]}`); r.Status != 500 || !strings.Contains(string(r.Body), `"internal"`) {
		t.Fatalf("panic: %d %s", r.Status, r.Body)
	}
	b.panics = false
	if r := srv.Do(t, "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-1"]}`); r.Status != 201 {
		t.Fatalf("after panic: %d %s", r.Status, r.Body)
	}
	if l := logs.String(); !strings.Contains(l, "disk on fire") || !strings.Contains(l, "backend bug") {
		t.Fatalf("internal errors not logged:\n%s", l)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRateLimits(t *testing.T) {
	f := newFixture(t, edge.Options{UserRate: 1, UserBurst: 2})
	for i := range 2 {
		f.hold(t, "s1", fmt.Sprintf(`{"user":"u","seats":["s0-1-%d"]}`, i+1))
	}
	r := f.srv.Do(t, "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-3"]}`)
	var e errBody
	decode(t, r.Body, &e)
	if r.Status != 429 || e.Error.Code != "rate_limited" || r.Header["Retry-After"] != "1" {
		t.Fatalf("third hold: %d %v %s", r.Status, r.Header, r.Body)
	}
	f.hold(t, "s1", `{"user":"other","seats":["s0-1-3"]}`) // another user has its own bucket
	f.hold(t, "lim", `{"user":"u","seats":["a-1-1"]}`)     // and so does another show

	// Per-IP limit, off by default.
	g := newFixture(t, edge.Options{IPRate: 1, IPBurst: 5}) // the fixture's 3 show creations use 3 tokens
	g.must(t, 200, "GET", "/v1/shows/s1", "")
	g.must(t, 200, "GET", "/v1/shows/s1", "")
	r = g.srv.Do(t, "GET", "/v1/shows/s1", "")
	if r.Status != 429 || r.Header["Retry-After"] == "" {
		t.Fatalf("IP limit: %d %s", r.Status, r.Body)
	}
	g.must(t, 200, "GET", "/healthz", "") // ops endpoints are not limited

	// A negative rate turns the user limit off.
	h := newFixture(t, edge.Options{UserRate: -1})
	for i := range 50 {
		h.hold(t, "s1", `{"user":"u","section":"pit","quantity":1,"tier":null}`+strings.Repeat(" ", i%2))
	}
}

// TestServerBodyLimit sends a request head announcing a body over the limit:
// fasthttp refuses it before reading the body, and the answer is our JSON.
func TestServerBodyLimit(t *testing.T) {
	f := newFixture(t, edge.Options{})
	conn, err := f.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/shows/s1/holds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", edge.MaxBodyBytes+1)
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	var e errBody
	decode(t, resp.Body(), &e)
	if resp.StatusCode() != 413 || e.Error.Code != "body_too_large" {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body())
	}
	// A body at the limit is read and judged on its content.
	body := `{"user":"u","seats":["s0-1-1"]}` + strings.Repeat(" ", edge.MaxBodyBytes-31)
	f.must(t, 201, "POST", "/v1/shows/s1/holds", body)
}

// TestHandlerBodyLimit calls the handler directly, without fasthttp's own limit.
func TestHandlerBodyLimit(t *testing.T) {
	s := edge.New(edgetest.NewMemBackend(), edge.Options{})
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/shows/s1/holds")
	req.SetBody([]byte(`{"user":"u","seats":["` + strings.Repeat("x", edge.MaxBodyBytes) + `"]}`))
	ctx.Init(&req, nil, nil)
	s.Handler()(&ctx)
	if ctx.Response.StatusCode() != 413 || !strings.Contains(string(ctx.Response.Body()), "body_too_large") {
		t.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestConcurrentHoldOneSeat races 200 clients for one seat over HTTP.
func TestConcurrentHoldOneSeat(t *testing.T) {
	f := newFixture(t, edge.Options{})
	const n = 200
	statuses := make([]int, n)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := f.srv.Send("POST", "/v1/shows/s1/holds", fmt.Sprintf(`{"user":"racer%d","seats":["s0-2-7"]}`, i))
			if err != nil {
				t.Errorf("racer %d: %v", i, err)
				return
			}
			statuses[i], bodies[i] = r.Status, r.Body
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, st := range statuses {
		switch st {
		case 201:
			won++
		case 409:
			var e errBody
			decode(t, bodies[i], &e)
			if e.Error.Code != "seats_unavailable" || len(e.Error.Seats) != 1 || e.Error.Seats[0] != "s0-2-7" {
				t.Fatalf("loser %d: %s", i, bodies[i])
			}
		default:
			t.Fatalf("racer %d: %d %s", i, st, bodies[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d winners, want 1", won)
	}
	var d showDoc
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	tt := d.Totals
	if tt.Held != 1 || tt.Available+tt.Held+tt.Reserved+tt.Sold != tt.Capacity {
		t.Fatalf("totals %+v", tt)
	}
	sum := 0
	for _, s := range d.Sections {
		sum += s.Capacity
		if s.Available+s.Held+s.Reserved+s.Sold != s.Capacity {
			t.Fatalf("section %+v", s)
		}
	}
	if sum != tt.Capacity {
		t.Fatalf("sections sum to %d, totals say %d", sum, tt.Capacity)
	}
}

// A hold retried with its Idempotency-Key (its answer was lost: a timeout, a
// 503) answers the same hold with 200 and holds nothing twice; the key with
// another request is 422 idempotency_mismatch.
func TestHoldIdempotencyKey(t *testing.T) {
	f := newFixture(t, edge.Options{})
	var first, again struct {
		ID    string   `json:"id"`
		Seats []string `json:"seats"`
	}
	body := `{"user":"u1","seats":["s0-1-3","s0-1-4"]}`
	decode(t, f.must(t, 201, "POST", "/v1/shows/s1/holds", body, "Idempotency-Key", "k-1"), &first)
	decode(t, f.must(t, 200, "POST", "/v1/shows/s1/holds", body, "Idempotency-Key", "k-1"), &again)
	if again.ID != first.ID {
		t.Fatalf("retry answered hold %s, first was %s", again.ID, first.ID)
	}
	var d showDoc
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.Totals.Held != 2 {
		t.Fatalf("%d seats held after a retried hold of 2", d.Totals.Held)
	}
	f.must(t, 422, "POST", "/v1/shows/s1/holds", `{"user":"u1","seats":["s0-1-5"]}`, "Idempotency-Key", "k-1")
	f.must(t, 400, "POST", "/v1/shows/s1/holds", body, "Idempotency-Key", strings.Repeat("k", 200))
	f.must(t, 201, "POST", "/v1/shows/s1/holds", `{"user":"u2","seats":["s0-1-9"]}`) // no key: as before
}
