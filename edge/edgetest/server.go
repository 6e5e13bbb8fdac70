package edgetest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Server is an edge.Server over an in-memory listener, with a client.
type Server struct {
	*edge.Server
	Client *fasthttp.Client
	ln     *fasthttputil.InmemoryListener
	// contract, when set, checks every exchange of Send; a breach fails tb.
	contract *Contract
	tb       testing.TB
}

// CheckContract makes every later Do and Send check its request and answer
// against the edge's OpenAPI document (EdgeContract): an exchange that
// breaks it fails tb. Call it before the server's first request.
func (s *Server) CheckContract(tb testing.TB) {
	tb.Helper()
	c, err := EdgeContract()
	if err != nil {
		tb.Fatal(err)
	}
	s.CheckContractOf(tb, c)
}

// CheckContractOf is CheckContract with another Contract.
func (s *Server) CheckContractOf(tb testing.TB, c *Contract) { s.contract, s.tb = c, tb }

// Dial opens a raw connection to the server, for tests that write bytes
// by hand.
func (s *Server) Dial() (net.Conn, error) { return s.ln.Dial() }

// Response is one answer: status, body (a copy) and headers.
type Response struct {
	Status int
	Body   []byte
	Header map[string]string
}

// NewServer starts an edge server for b on an in-memory listener; it stops
// when the test ends. Options.AdminToken defaults to "admin".
func NewServer(tb testing.TB, b edge.Backend, opt edge.Options) *Server {
	tb.Helper()
	if opt.AdminToken == "" {
		opt.AdminToken = "admin"
	}
	ln := fasthttputil.NewInmemoryListener()
	s := &Server{Server: edge.New(b, opt), ln: ln}
	s.Client = &fasthttp.Client{
		Dial:                func(string) (net.Conn, error) { return ln.Dial() },
		MaxConnsPerHost:     1024,
		MaxIdleConnDuration: 0,
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Logf("edgetest: shutdown: %v", err)
		}
		if err := <-done; err != nil {
			tb.Logf("edgetest: serve: %v", err)
		}
	})
	return s
}

// Do sends one request and fails the test if it cannot; headers are name,
// value pairs.
func (s *Server) Do(tb testing.TB, method, path, body string, headers ...string) Response {
	tb.Helper()
	r, err := s.Send(method, path, body, headers...)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// Send sends one request (safe from any goroutine); headers are name, value pairs.
func (s *Server) Send(method, path, body string, headers ...string) (Response, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://boxoffice" + path)
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if err := s.Client.Do(req, resp); err != nil {
		return Response{}, err
	}
	r := Response{Status: resp.StatusCode(), Body: append([]byte(nil), resp.Body()...), Header: map[string]string{}}
	for k, v := range resp.Header.All() {
		r.Header[string(k)] = string(v)
	}
	if s.contract != nil {
		x := Exchange{Method: method, Path: path, ReqHeader: http.Header{}, ReqBody: []byte(body),
			Status: r.Status, Header: http.Header{}, Body: r.Body}
		for k, v := range req.Header.All() {
			x.ReqHeader.Add(string(k), string(v))
		}
		for k, v := range r.Header {
			x.Header.Add(k, v)
		}
		if err := s.contract.Check(x); err != nil {
			s.tb.Errorf("contract: %s %s %.200s: %v", method, path, body, err)
		}
	}
	return r, nil
}
