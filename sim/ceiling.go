package sim

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/valyala/fasthttp"
)

// noopServer is the ceiling: a fasthttp JSON server on 127.0.0.1 that
// answers boxoffice's API shapes after decoding each request body the same
// way, and books nothing. Hold and order answers have the real API's fields,
// id format and sizes (it remembers the shows it was given and the holds it
// granted, so it can name seats and sections as the real server would).
// Every hold is granted, so a scenario's request mix against it can differ
// from the real one (more orders and payments) when the real show sells out.
type noopServer struct {
	srv   *fasthttp.Server
	ln    net.Listener
	url   string
	shows sync.Map // show id -> *seatmap.ShowConfig
	holds sync.Map // hold id -> noopHold, until ordered or released
}

// noopHold and noopOrder are the real API's hold and order documents.
type noopHold struct {
	ID        string         `json:"id"`
	Show      string         `json:"show"`
	User      string         `json:"user"`
	Seats     []string       `json:"seats"`
	General   map[string]int `json:"general"`
	Quantity  int            `json:"quantity"`
	Amount    int64          `json:"amount"`
	ExpiresAt string         `json:"expires_at"`
}

type noopOrder struct {
	ID           string         `json:"id"`
	Show         string         `json:"show"`
	User         string         `json:"user"`
	Seats        []string       `json:"seats"`
	General      map[string]int `json:"general"`
	Quantity     int            `json:"quantity"`
	Amount       int64          `json:"amount"`
	Status       string         `json:"status"`
	PaymentDueAt string         `json:"payment_due_at"`
	CreatedAt    string         `json:"created_at"`
	History      []noopStatus   `json:"history"`
}

type noopStatus struct {
	Status string `json:"status"`
	At     string `json:"at"`
}

// startNoop starts the no-op server in this process on a free loopback
// port, with the API server's fasthttp settings (edge.NewHTTPServer).
func startNoop() (*noopServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &noopServer{ln: ln, url: "http://" + ln.Addr().String()}
	n.srv = edge.NewHTTPServer(n.handle, edge.Options{})
	go n.srv.Serve(ln) //nolint:errcheck // Serve returns when close shuts the listener
	return n, nil
}

// NoopHandler returns a fresh no-op ceiling server's request handler: the
// API's routes that the load scenarios use, answered in the API's shapes and
// sizes with nothing booked (see noopServer), plus /healthz and /readyz.
// boxoffice noop serves it in a process of its own with edge.NewHTTPServer,
// so that the ceiling is a server process like boxoffice serve.
func NoopHandler() fasthttp.RequestHandler { return (&noopServer{}).handle }

func (n *noopServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = n.srv.ShutdownWithContext(ctx)
}

// noopID is an id in the real format: "<show>~<26 base32 chars>".
func noopID(show string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return show + "~" + noopIDEncoding.EncodeToString(b[:])
}

var noopIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// noopTime formats t as the API does (RFC 3339, milliseconds, UTC).
func noopTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// handle routes by method and path shape, mirroring the real API's answers.
func (n *noopServer) handle(ctx *fasthttp.RequestCtx) {
	path := strings.TrimPrefix(string(ctx.Path()), "/v1/")
	parts := strings.Split(path, "/")
	method := string(ctx.Method())
	switch {
	case method == "GET" && (string(ctx.Path()) == "/healthz" || string(ctx.Path()) == "/readyz"):
		ctx.SetStatusCode(200)
	case method == "POST" && path == "shows":
		var cfg seatmap.ShowConfig
		if n.decode(ctx, &cfg) {
			n.shows.Store(cfg.ID, &cfg)
			n.reply(ctx, 201, map[string]any{"id": cfg.ID, "name": cfg.Name})
		}
	case method == "GET" && len(parts) == 2 && parts[0] == "shows":
		n.reply(ctx, 200, map[string]any{"id": parts[1], "sections": []any{}, "totals": seatmap.Totals{}})
	case method == "GET" && len(parts) == 3 && parts[0] == "shows" && parts[2] == "seats":
		n.reply(ctx, 200, map[string]any{"seats": map[string]string{}})
	case method == "POST" && len(parts) == 3 && parts[0] == "shows" && parts[2] == "holds":
		var b holdBody
		if n.decode(ctx, &b) {
			h := n.grant(parts[1], b)
			n.holds.Store(h.ID, h)
			n.reply(ctx, 201, h)
		}
	case method == "DELETE" && len(parts) == 4 && parts[0] == "shows" && parts[2] == "holds":
		n.holds.Delete(parts[3])
		ctx.SetStatusCode(204)
	case method == "POST" && path == "orders":
		var b orderBody
		if n.decode(ctx, &b) {
			n.reply(ctx, 201, n.order(b))
		}
	case method == "POST" && len(parts) == 3 && parts[0] == "orders" && parts[2] == "pay":
		var b payBody
		if n.decode(ctx, &b) {
			now := time.Now()
			n.reply(ctx, 202, noopOrder{ID: parts[1], Status: seatmap.StatusPaymentProcessing, General: map[string]int{},
				PaymentDueAt: noopTime(now.Add(simPaymentTTLSeconds * time.Second)), CreatedAt: noopTime(now),
				History: []noopStatus{{seatmap.StatusPendingPayment, noopTime(now)}, {seatmap.StatusPaymentProcessing, noopTime(now)}}})
		}
	default:
		n.fail(ctx, 404, "not_found")
	}
}

// grant answers a hold request as the real server would: the seats named,
// or quantity seats at the centre of the first row of the section (or of
// the tier's first section), or general-admission units.
func (n *noopServer) grant(show string, b holdBody) noopHold {
	h := noopHold{ID: noopID(show), Show: show, User: b.User, Seats: append([]string{}, b.Seats...), General: map[string]int{},
		Quantity: b.Quantity, ExpiresAt: noopTime(time.Now().Add(simHoldTTLSeconds * time.Second))}
	if len(b.Seats) > 0 {
		h.Quantity = len(b.Seats)
		h.Amount = 5000 * int64(h.Quantity)
		return h
	}
	var sec *seatmap.Section
	if v, ok := n.shows.Load(show); ok {
		cfg := v.(*seatmap.ShowConfig)
		for i := range cfg.Sections {
			if s := &cfg.Sections[i]; s.ID == b.Section || b.Section == "" && s.Tier == b.Tier {
				sec = s
				break
			}
		}
	}
	switch {
	case sec != nil && sec.GA():
		h.General[sec.ID] = h.Quantity
	case sec != nil:
		first := max((sec.Rows[0].Seats-h.Quantity)/2, 0) + 1 // the row's centre, as best-available picks it
		for k := first; k < first+h.Quantity; k++ {
			h.Seats = append(h.Seats, sec.ID+"-"+sec.Rows[0].ID+"-"+strconv.Itoa(k))
		}
	default:
		for k := 1; k <= h.Quantity; k++ {
			h.Seats = append(h.Seats, b.Section+"-1-"+strconv.Itoa(k))
		}
	}
	h.Amount = 5000 * int64(h.Quantity)
	return h
}

// order turns a granted hold into a pending order document.
func (n *noopServer) order(b orderBody) noopOrder {
	now := time.Now()
	o := noopOrder{ID: noopID(b.Show), Show: b.Show, General: map[string]int{}, Status: seatmap.StatusPendingPayment,
		PaymentDueAt: noopTime(now.Add(simPaymentTTLSeconds * time.Second)), CreatedAt: noopTime(now),
		History: []noopStatus{{seatmap.StatusPendingPayment, noopTime(now)}}}
	if v, ok := n.holds.LoadAndDelete(b.Hold); ok {
		h := v.(noopHold)
		o.User, o.Seats, o.General, o.Quantity, o.Amount = h.User, h.Seats, h.General, h.Quantity, h.Amount
	}
	return o
}

func (n *noopServer) decode(ctx *fasthttp.RequestCtx, v any) bool {
	if err := json.Unmarshal(ctx.PostBody(), v); err != nil {
		n.fail(ctx, 400, "invalid_request")
		return false
	}
	return true
}

func (n *noopServer) reply(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.fail(ctx, 500, "internal")
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func (n *noopServer) fail(ctx *fasthttp.RequestCtx, status int, code string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"error":{"code":"` + code + `","message":"no-op server"}}`)
}
