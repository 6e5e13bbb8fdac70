package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// httpClient speaks boxoffice's JSON API over one keep-alive fasthttp
// HostClient. It is safe for concurrent use.
type httpClient struct {
	hc      *fasthttp.HostClient
	base    string // the target URL, for reports
	host    string // Host header
	admin   string // admin bearer token, sent only on admin calls
	timeout time.Duration
}

// newHTTPClient returns a client for a loopback target with at most maxConns
// connections; requests wait up to timeout for a free connection and answer.
func newHTTPClient(target, adminToken string, maxConns int, timeout time.Duration) (*httpClient, error) {
	addr, host, err := parseLoopbackTarget(target)
	if err != nil {
		return nil, err
	}
	if maxConns < 1 {
		maxConns = 1
	}
	return &httpClient{
		hc: &fasthttp.HostClient{
			Addr:                      addr,
			Name:                      "boxoffice-sim",
			MaxConns:                  maxConns,
			MaxConnWaitTimeout:        timeout,
			MaxIdemponentCallAttempts: 1, // never retry: a retry would hide a failure and skew latency
			ReadTimeout:               timeout,
			WriteTimeout:              timeout,
			MaxIdleConnDuration:       time.Minute,
		},
		base: target, host: host, admin: adminToken, timeout: timeout,
	}, nil
}

// call is one API request.
type call struct {
	method  string
	path    string // with query
	body    any    // marshalled to JSON when not nil
	idemKey string // Idempotency-Key header when not empty
	admin   bool   // send the admin token
	// passHeader is a waiting room's pass, sent as X-Queue-Pass when not empty
	passHeader string
}

// errorBody is the API's error envelope.
type errorBody struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Seats   []string `json:"seats"`
	} `json:"error"`
}

// do sends c and decodes a 2xx answer into out (when not nil). It returns the
// HTTP status (0 when no answer came) and, for non-2xx answers, an *APIError.
func (h *httpClient) do(ctx context.Context, c call, out any) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(c.method)
	req.SetRequestURI(c.path)
	req.Header.SetHost(h.host)
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return 0, err
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	if c.idemKey != "" {
		req.Header.Set("Idempotency-Key", c.idemKey)
	}
	if c.admin && h.admin != "" {
		req.Header.Set("Authorization", "Bearer "+h.admin)
	}
	if c.passHeader != "" {
		req.Header.Set("X-Queue-Pass", c.passHeader)
	}
	deadline := time.Now().Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := h.hc.DoDeadline(req, resp, deadline); err != nil {
		return 0, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	status := resp.StatusCode()
	body := resp.Body()
	if status < 200 || status > 299 {
		var eb errorBody
		_ = json.Unmarshal(body, &eb) // a body that is not the envelope leaves the code empty
		code := eb.Error.Code
		if code == "" {
			code = fmt.Sprintf("http_%d", status)
		}
		return status, &APIError{Status: status, Code: code, Message: eb.Error.Message,
			Err: seatmap.FromCode(code, eb.Error.Message, eb.Error.Seats)}
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return status, fmt.Errorf("%s %s: decoding %d answer: %w", c.method, c.path, status, err)
		}
	}
	return status, nil
}

// holdBody is the body of POST /v1/shows/{show}/holds.
type holdBody struct {
	User     string   `json:"user"`
	Seats    []string `json:"seats,omitempty"`
	Section  string   `json:"section,omitempty"`
	Tier     string   `json:"tier,omitempty"`
	Quantity int      `json:"quantity,omitempty"`
}

func holdCall(req seatmap.HoldRequest) call {
	return call{method: "POST", path: "/v1/shows/" + url.PathEscape(req.Show) + "/holds",
		body: holdBody{User: req.User, Seats: req.Seats, Section: req.Section, Tier: req.Tier, Quantity: req.Quantity}}
}

func createShowCall(cfg seatmap.ShowConfig) call {
	return call{method: "POST", path: "/v1/shows", body: cfg, admin: true}
}

func getShowCall(show string) call {
	return call{method: "GET", path: "/v1/shows/" + url.PathEscape(show)}
}

func seatsCall(show, section string) call {
	p := "/v1/shows/" + url.PathEscape(show) + "/seats"
	if section != "" {
		p += "?section=" + url.QueryEscape(section)
	}
	return call{method: "GET", path: p}
}

func releaseCall(show, hold string) call {
	return call{method: "DELETE", path: "/v1/shows/" + url.PathEscape(show) + "/holds/" + url.PathEscape(hold)}
}

// orderBody is the body of POST /v1/orders.
type orderBody struct {
	Show string `json:"show"`
	Hold string `json:"hold"`
}

func orderCall(show, hold string) call {
	return call{method: "POST", path: "/v1/orders", body: orderBody{Show: show, Hold: hold}, idemKey: "sim-" + hold}
}

// payBody is the body of POST /v1/orders/{id}/pay.
type payBody struct {
	PaymentToken string `json:"payment_token"`
}

func payCall(order string) call {
	return call{method: "POST", path: "/v1/orders/" + url.PathEscape(order) + "/pay", body: payBody{PaymentToken: "tok_ok"}}
}

// holdJSON is a hold as the API writes it (its times are RFC 3339 strings,
// which the harness does not need).
type holdJSON struct {
	ID       string         `json:"id"`
	Show     string         `json:"show"`
	User     string         `json:"user"`
	Seats    []string       `json:"seats"`
	General  map[string]int `json:"general"`
	Quantity int            `json:"quantity"`
	Amount   int64          `json:"amount"`
}

func (h *holdJSON) view() seatmap.HoldView {
	return seatmap.HoldView{ID: h.ID, Show: h.Show, User: h.User, Seats: h.Seats, General: h.General,
		Quantity: h.Quantity, Amount: h.Amount}
}

// orderJSON is the part of an order the harness reads.
type orderJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// httpTarget is a Target over HTTP.
type httpTarget struct {
	c *httpClient
}

// NewHTTPTarget returns a Target for the server at target (a loopback
// http:// URL; other hosts are refused with ErrNotLoopback), using at most
// maxConns keep-alive connections and timeout per request.
func NewHTTPTarget(target, adminToken string, maxConns int, timeout time.Duration) (Target, error) {
	c, err := newHTTPClient(target, adminToken, maxConns, timeout)
	if err != nil {
		return nil, err
	}
	return &httpTarget{c: c}, nil
}

func (t *httpTarget) Name() string { return t.c.base }

func (t *httpTarget) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) error {
	_, err := t.c.do(ctx, createShowCall(cfg), nil)
	return err
}

func (t *httpTarget) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, error) {
	var h holdJSON
	_, err := t.c.do(ctx, holdCall(req), &h)
	return h.view(), err
}

func (t *httpTarget) GetShow(ctx context.Context, show string) (ShowState, error) {
	var s ShowState
	_, err := t.c.do(ctx, getShowCall(show), &s)
	return s, err
}

func (t *httpTarget) Seats(ctx context.Context, show, section string) (map[string]string, error) {
	var s struct {
		Seats map[string]string `json:"seats"`
	}
	_, err := t.c.do(ctx, seatsCall(show, section), &s)
	return s.Seats, err
}

func (t *httpTarget) Release(ctx context.Context, show, hold string) error {
	_, err := t.c.do(ctx, releaseCall(show, hold), nil)
	return err
}
