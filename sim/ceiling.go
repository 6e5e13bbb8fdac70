package sim

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// noopServer is the ceiling: a fasthttp JSON server on 127.0.0.1 that
// answers boxoffice's API shapes after decoding each request body the same
// way, and books nothing. Every hold is granted, so a scenario's request mix
// against it can differ from the real one (more orders and payments).
type noopServer struct {
	srv  *fasthttp.Server
	ln   net.Listener
	url  string
	next atomic.Int64 // id counter
}

// startNoop starts the no-op server on a free loopback port.
func startNoop() (*noopServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &noopServer{ln: ln, url: "http://" + ln.Addr().String()}
	n.srv = &fasthttp.Server{Handler: n.handle, Name: "boxoffice-noop", NoDefaultDate: true, CloseOnShutdown: true}
	go n.srv.Serve(ln) //nolint:errcheck // Serve returns when close shuts the listener
	return n, nil
}

func (n *noopServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = n.srv.ShutdownWithContext(ctx)
}

func (n *noopServer) id(prefix string) string {
	return prefix + strconv.FormatInt(n.next.Add(1), 36)
}

// handle routes by method and path shape, mirroring the real API's answers.
func (n *noopServer) handle(ctx *fasthttp.RequestCtx) {
	path := strings.TrimPrefix(string(ctx.Path()), "/v1/")
	parts := strings.Split(path, "/")
	method := string(ctx.Method())
	switch {
	case method == "POST" && path == "shows":
		var cfg seatmap.ShowConfig
		if n.decode(ctx, &cfg) {
			n.reply(ctx, 201, map[string]any{"id": cfg.ID, "name": cfg.Name})
		}
	case method == "GET" && len(parts) == 2 && parts[0] == "shows":
		n.reply(ctx, 200, map[string]any{"id": parts[1], "sections": []any{}, "totals": seatmap.Totals{}})
	case method == "GET" && len(parts) == 3 && parts[0] == "shows" && parts[2] == "seats":
		n.reply(ctx, 200, map[string]any{"seats": map[string]string{}})
	case method == "POST" && len(parts) == 3 && parts[0] == "shows" && parts[2] == "holds":
		var b holdBody
		if n.decode(ctx, &b) {
			q := b.Quantity
			if q == 0 {
				q = len(b.Seats)
			}
			n.reply(ctx, 201, seatmap.HoldView{ID: n.id("noop-h"), Show: parts[1], User: b.User, Seats: b.Seats, Quantity: q})
		}
	case method == "DELETE" && len(parts) == 4 && parts[0] == "shows" && parts[2] == "holds":
		ctx.SetStatusCode(204)
	case method == "POST" && path == "orders":
		var b orderBody
		if n.decode(ctx, &b) {
			n.reply(ctx, 201, seatmap.OrderView{ID: n.id("noop-o"), Show: b.Show, HoldID: b.Hold, Status: seatmap.StatusPendingPayment})
		}
	case method == "POST" && len(parts) == 3 && parts[0] == "orders" && parts[2] == "pay":
		var b payBody
		if n.decode(ctx, &b) {
			n.reply(ctx, 202, seatmap.OrderView{ID: parts[1], Status: seatmap.StatusPaymentProcessing})
		}
	default:
		n.fail(ctx, 404, "not_found")
	}
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
