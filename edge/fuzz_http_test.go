package edge_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/valyala/fasthttp"
)

// codeStatus is the documented status of each error code.
var codeStatus = map[string]int{
	"invalid_request": 400, "unauthorized": 401, "forbidden": 403, "show_not_found": 404, "hold_not_found": 404, "order_not_found": 404,
	"not_found": 404, "method_not_allowed": 405, "show_exists": 409, "seats_unavailable": 409, "sold_out": 409,
	"invalid_state": 409, "hold_expired": 410, "body_too_large": 413, "unknown_seat": 422, "unknown_section": 422,
	"unknown_tier": 422, "limit_exceeded": 422, "idempotency_mismatch": 422, "rate_limited": 429, "unavailable": 503,
}

// call runs one request through the handler, without a network.
func call(s *edge.Server, method, path string, body []byte, hdr ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.SetBody(body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, nil)
	s.Handler()(ctx)
	return ctx
}

// checkAnswer asserts a response follows the contract: a documented status,
// and for errors a JSON body whose code has that status.
func checkAnswer(t *testing.T, what string, ctx *fasthttp.RequestCtx) {
	t.Helper()
	st := ctx.Response.StatusCode()
	body := ctx.Response.Body()
	switch st {
	case 200, 201, 202:
		if ct := string(ctx.Response.Header.ContentType()); isPageType(ct) && ctx.IsGet() {
			return // the seat-map pages and their assets (page.go)
		}
		if !json.Valid(body) {
			t.Fatalf("%s: %d with invalid JSON %q", what, st, body)
		}
		return
	case 204:
		if len(body) != 0 {
			t.Fatalf("%s: 204 with a body", what)
		}
		return
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, st, body)
	}
	want, ok := codeStatus[e.Error.Code]
	if !ok || want != st {
		t.Fatalf("%s: status %d with code %q (documented status %d): %s", what, st, e.Error.Code, want, body)
	}
}

func fuzzServer(t testing.TB) (*edge.Server, string) {
	b := edgetest.NewMemBackend()
	s := edge.New(b, edge.Options{AdminToken: "admin"})
	ctx := call(s, "POST", "/v1/shows", []byte(mainShow), "Authorization", adminAuth)
	if ctx.Response.StatusCode() != 201 {
		t.Fatalf("create: %s", ctx.Response.Body())
	}
	ctx = call(s, "POST", "/v1/shows/s1/holds", []byte(`{"user":"seed","seats":["s0-1-1"]}`))
	var h struct{ ID string }
	if err := json.Unmarshal(ctx.Response.Body(), &h); err != nil || h.ID == "" {
		t.Fatalf("hold: %s", ctx.Response.Body())
	}
	return s, h.ID
}

// FuzzHTTP sends arbitrary requests through the whole handler (path parsing
// and every body parser, chosen by the path).
func FuzzHTTP(f *testing.F) {
	s, holdID := fuzzServer(f)
	seeds := []struct{ method, path, body string }{
		{"POST", "/v1/shows", mainShow},
		{"POST", "/v1/shows", `{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`},
		{"GET", "/v1/shows/s1", ""},
		{"GET", "/v1/shows/s1/seats?section=pit", ""},
		{"POST", "/v1/shows/s1/holds", `{"user":"u1","seats":["s0-1-5","s0-1-6"]}`},
		{"POST", "/v1/shows/s1/holds", `{"user":"u1","section":"pit","quantity":2}`},
		{"POST", "/v1/shows/s1/holds", `{"user":"u1","tier":"vip","quantity":2}`},
		{"GET", "/v1/shows/s1/holds/" + holdID, ""},
		{"POST", "/v1/shows/s1/holds/" + holdID + "/extend", `{"seconds":30}`},
		{"DELETE", "/v1/shows/s1/holds/" + holdID, ""},
		{"POST", "/v1/orders", `{"show":"s1","hold":"` + holdID + `"}`},
		{"GET", "/v1/orders/s1~0~x", ""},
		{"POST", "/v1/orders/s1~0~x/pay", `{"payment_token":"tok_ok"}`},
		{"POST", "/v1/orders/s1~0~x/cancel", ""},
		{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/nope", ""}, {"PATCH", "/v1/orders", "{"},
	}
	for _, sd := range seeds {
		f.Add(sd.method, sd.path, []byte(sd.body), true)
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte, admin bool) {
		if method == "" || path == "" || path[0] != '/' || path == "/metrics" || isProfile(path) {
			return // fasthttp needs a method and an absolute path; /metrics is text; a profile is binary and takes seconds
		}
		hdr := []string{"Idempotency-Key", "k"}
		if admin {
			hdr = append(hdr, "Authorization", adminAuth)
		}
		ctx := call(s, method, path, body, hdr...)
		checkAnswer(t, method+" "+path, ctx)
	})
}

// isProfile reports whether path, once normalized as the server does,
// names GET /v1/admin/profile (a CPU profile: pprof bytes after seconds).
func isProfile(path string) bool {
	var u fasthttp.URI
	if err := u.Parse(nil, []byte(path)); err != nil {
		return false
	}
	return strings.EqualFold(string(u.Path()), "/v1/admin/profile")
}

// isPageType reports whether a content type is one of the seat-map pages'
// (HTML, CSS, JavaScript, SVG), the only 2xx answers that are not JSON.
func isPageType(ct string) bool {
	for _, p := range []string{"text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"} {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	return false
}
