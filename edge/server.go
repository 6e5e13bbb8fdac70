package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/boxoffice/boxoffice/actors/stream"
	"github.com/boxoffice/boxoffice/perf"
)

// Defaults of Options.
const (
	DefaultAddr           = ":8080"
	DefaultUserRate       = 20 // holds per second per user and show: no human is this fast
	DefaultUserBurst      = 40
	DefaultBackendTimeout = 5 * time.Second
	DefaultReadTimeout    = 30 * time.Second
	DefaultIdleTimeout    = 120 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultMaxHeaderBytes = 8 << 10 // request line and headers; longer ones are 431
)

// Options configure a Server. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// Settler takes consumer results sent over /v1/internal/* by consumers
	// running in other processes (admin token required); nil disables them.
	Settler Settler
	Addr    string // ListenAndServe's address; DefaultAddr when empty
	// AdminToken is the bearer token of show management and /v1/admin/*. When
	// empty, those routes are refused (401) for everyone.
	AdminToken string
	// InternalToken is the bearer token of the consumers' callbacks
	// (/v1/internal/*), which the admin token does not open. When empty, the
	// callbacks take the admin token (the behaviour before scoped tokens).
	InternalToken string
	// UserAuth, when set, verifies user tokens: every booking call needs one,
	// acts for its sub, and touches only that user's holds and orders. Nil =
	// tokenless: the body's user is trusted and reads are not checked.
	UserAuth *UserAuth
	// UserRate and UserBurst limit the writes of each user (token bucket, per
	// second): holds per user and show, and orders, payments, cancels,
	// extends and releases per user (tokens on; tokenless, these have no
	// user and only the IP limit applies). 0 takes the default; a negative rate turns the
	// limit off. Burst defaults to twice the rate.
	UserRate, UserBurst float64
	// IPRate and IPBurst limit every /v1 request per client IP. Off (0) by
	// default; burst defaults to twice the rate.
	IPRate, IPBurst float64
	// Limiter keeps the token buckets; a MemLimiter when nil.
	Limiter Limiter
	// Logger receives error logs; slog.Default() when nil.
	Logger *slog.Logger
	// BackendTimeout is the deadline of each Backend call.
	BackendTimeout time.Duration
	// ReadTimeout, WriteTimeout and IdleTimeout are the connection timeouts of Serve.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnsPerIP caps simultaneous connections from one client IP (0 = no cap).
	MaxConnsPerIP int
	// MaxHeaderBytes bounds a request's line and headers (DefaultMaxHeaderBytes when 0).
	MaxHeaderBytes int
	// Concurrency caps simultaneous connections of Serve (fasthttp's default when 0).
	Concurrency int
	// Perf, when set, times every request and Backend call, serves
	// GET /v1/admin/perf (admin token) and adds its figures to /metrics.
	Perf *perf.Monitor
	// DeadLetters, when set, serves GET /v1/admin/dead-letters and POST
	// /v1/admin/dead-letters/{id}/retry (admin token) and adds
	// dead_letters_total and dead_letters to /metrics.
	DeadLetters DeadLetterAdmin
	// Webhooks, when set, serves /v1/webhooks (admin token).
	Webhooks WebhookAdmin
	// Streams, when set, serves GET /v1/shows/{show}/events (sse.go).
	Streams *stream.Hub
	// QueuePassKey signs and checks waiting-room passes (pass.go); it must
	// be the same on every node. Empty: derived from AdminToken.
	QueuePassKey []byte
}

// Server is the HTTP server. Its methods are safe for concurrent use.
type Server struct {
	b       Backend
	lister  ShowLister   // b's, or nil
	queue   QueueBackend // b's, or nil: the room's routes answer 404
	passKey []byte       // signs waiting-room passes
	opt     Options
	log     *slog.Logger
	limiter Limiter
	metrics metrics
	admin   []byte
	// internalTok is the bearer token of /v1/internal/*
	internalTok []byte
	srv         *fasthttp.Server
	closing     chan struct{} // closed by Shutdown: event streams end
	closeOnce   sync.Once
}

// New returns a server that answers the API with b.
func New(b Backend, opt Options) *Server {
	if opt.Addr == "" {
		opt.Addr = DefaultAddr
	}
	switch {
	case opt.UserRate == 0:
		opt.UserRate = DefaultUserRate
		if opt.UserBurst == 0 {
			opt.UserBurst = DefaultUserBurst
		}
	case opt.UserRate < 0:
		opt.UserRate = 0
	}
	if opt.UserBurst <= 0 {
		opt.UserBurst = 2 * opt.UserRate
	}
	if opt.IPRate < 0 {
		opt.IPRate = 0
	}
	if opt.IPBurst <= 0 {
		opt.IPBurst = 2 * opt.IPRate
	}
	if opt.Limiter == nil {
		opt.Limiter = NewMemLimiter(0)
	}
	if opt.BackendTimeout <= 0 {
		opt.BackendTimeout = DefaultBackendTimeout
	}
	opt = opt.withHTTPDefaults()
	if opt.InternalToken == "" {
		opt.InternalToken = opt.AdminToken
	}
	lister, _ := b.(ShowLister) // before the perf wrapper hides it
	queue, _ := b.(QueueBackend)
	b = attachPerf(opt.Perf, b)
	s := &Server{b: b, lister: lister, queue: queue, opt: opt, log: opt.Logger, limiter: opt.Limiter, admin: []byte(opt.AdminToken),
		internalTok: []byte(opt.InternalToken), closing: make(chan struct{}), passKey: opt.QueuePassKey}
	if len(s.passKey) == 0 {
		s.passKey = passKey(opt.AdminToken)
	}
	s.srv = s.httpServer(s.handle)
	return s
}

// withHTTPDefaults fills the zero connection settings of opt (timeouts,
// header limit, logger) with their defaults.
func (opt Options) withHTTPDefaults() Options {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	if opt.MaxHeaderBytes <= 0 {
		opt.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return opt
}

// httpServer is the fasthttp server of s.opt around handler h.
func (s *Server) httpServer(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               h,
		ErrorHandler:          s.handleReadError,
		Name:                  "boxoffice",
		MaxRequestBodySize:    MaxBodyBytes,
		ReadTimeout:           s.opt.ReadTimeout,
		WriteTimeout:          s.opt.WriteTimeout,
		IdleTimeout:           s.opt.IdleTimeout,
		MaxConnsPerIP:         s.opt.MaxConnsPerIP,
		ReadBufferSize:        s.opt.MaxHeaderBytes,
		Concurrency:           s.opt.Concurrency,
		NoDefaultContentType:  true,
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{s.opt.Logger},
		CloseOnShutdown:       true,
	}
}

// NewHTTPServer returns the fasthttp server that New serves the API with
// (opt's timeouts, connection limits, concurrency, read buffer, body limit,
// headers and read-error answers, defaults filled as New fills them), around
// another handler h. The load generator's no-op ceiling (boxoffice noop) is
// served this way, so that a comparison of boxoffice with it differs in the
// handler alone. Only the connection fields of opt are used.
func NewHTTPServer(h fasthttp.RequestHandler, opt Options) *fasthttp.Server {
	s := &Server{opt: opt.withHTTPDefaults()}
	s.log = s.opt.Logger
	return s.httpServer(h)
}

// Handler returns the request handler, for tests over an in-memory listener.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// ListenAndServe listens on Options.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error { return s.srv.ListenAndServe(s.opt.Addr) }

// Shutdown stops accepting connections and waits, until ctx is done, for
// the requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	return s.srv.ShutdownWithContext(ctx)
}

// handle routes one request and records its metrics.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := requestTime(ctx)
	m := route(ctx.Method(), requestPath(ctx))
	defer s.finish(ctx, m.route, start)
	s.dispatch(ctx, m, start)
}

// finish records the request's metrics; a panic of the handler or of the
// Backend becomes a logged 500 rather than the end of the process.
func (s *Server) finish(ctx *fasthttp.RequestCtx, r routeID, start time.Time) {
	if p := recover(); p != nil {
		s.log.Error("panic serving a request", "route", routes[r].pattern, "panic", p, "stack", string(debug.Stack()))
		ctx.Response.Reset()
		s.writeError(ctx, fmt.Errorf("panic: %v", p))
	}
	d := time.Since(start)
	s.metrics.observe(r, ctx.Response.StatusCode(), d)
	s.opt.Perf.Observe(int(r), ctx.Response.StatusCode(), start.Add(d), d)
}

// requestTime is when the request arrived: fasthttp reads the clock for
// every request already (its read is reused to spare a slow clock), but not
// for contexts made by hand.
func requestTime(ctx *fasthttp.RequestCtx) time.Time {
	if t := ctx.Time(); !t.IsZero() {
		return t
	}
	return time.Now()
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx, m match, now time.Time) {
	switch m.route {
	case routeUnmatched:
		if m.allow != "" {
			s.writeError(ctx, &methodError{allow: m.allow})
		} else {
			s.writeError(ctx, edgeError(errNotFound, "no such route"))
		}
		return
	case routeHealthz:
		s.healthz(ctx)
		return
	case routeReadyz:
		s.readyz(ctx)
		return
	case routeMetrics:
		s.serveMetrics(ctx)
		return
	case routePerf:
		s.servePerf(ctx, s.opt.Perf)
		return
	case routeProfile:
		s.serveProfile(ctx)
		return
	case routePageIndex, routePageShow, routePageAsset:
		s.page(ctx, m)
	case routeOpenAPI:
		s.serveOpenAPI(ctx)
		return
	}
	if len(ctx.PostBody()) > MaxBodyBytes {
		s.writeError(ctx, edgeError(errBodyTooLarge, fmt.Sprintf("the body is over %d bytes", MaxBodyBytes)))
		return
	}
	if s.opt.IPRate > 0 {
		if ok, wait := s.limiter.Allow(now, ipKey(ctx), s.opt.IPRate, s.opt.IPBurst); !ok {
			s.writeError(ctx, &rateLimitError{retryAfter: wait})
			return
		}
	}
	switch m.route {
	case routeCreateShow:
		s.createShow(ctx)
	case routeGetShow:
		s.getShow(ctx, m.p1)
	case routeSeats:
		s.seats(ctx, m.p1)
	case routeCreateHold:
		s.createHold(ctx, m.p1, now)
	case routeGetHold:
		s.getHold(ctx, m.p1, m.p2)
	case routeReleaseHold:
		s.releaseHold(ctx, m.p1, m.p2, now)
	case routeExtendHold:
		s.extendHold(ctx, m.p1, m.p2, now)
	case routeCreateOrder:
		s.createOrder(ctx, now)
	case routeGetOrder:
		s.getOrder(ctx, m.p1)
	case routePayOrder:
		s.payOrder(ctx, m.p1, now)
	case routeCancelOrder:
		s.cancelOrder(ctx, m.p1, now)
	case routePaymentResult, routeNotification:
		s.internal(ctx, m.route)
	case routeDeadLetters:
		s.listDeadLetters(ctx)
	case routeRetryDeadLetter:
		s.retryDeadLetter(ctx, m.p1)
	case routeCreateWebhook, routeListWebhooks, routeGetWebhook, routeDeleteWebhook, routeWebhookDeliveries:
		s.webhooks(ctx, m)
	case routeShowEvents:
		s.showEvents(ctx, m.p1)
	case routeListShows:
		s.listShows(ctx)
	case routeJoinQueue:
		s.joinQueue(ctx, m.p1, now)
	case routeGetTicket:
		s.getTicket(ctx, m.p1, m.p2)
	case routeJoinWaitlist:
		s.joinWaitlist(ctx, m.p1, now)
	case routeGetEntry, routeLeaveWaitlist:
		s.waitlistEntry(ctx, m.p1, m.p2, m.route == routeLeaveWaitlist, now)
	}
}

// ipKey is the IP limiter's key of the client.
func ipKey(ctx *fasthttp.RequestCtx) string {
	return "ip\x00" + ctx.RemoteIP().String()
}

// backendCtx returns the context of one Backend call; the caller must call
// its cancel method when the call returns. Its deadline counts from the
// request's arrival.
func (s *Server) backendCtx(ctx *fasthttp.RequestCtx) *callCtx {
	return newCallCtx(requestTime(ctx).Add(s.opt.BackendTimeout))
}

// authorized reports whether the request carries the admin bearer token.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool { return tokenIs(ctx, s.admin) }

// limitWrite takes a token from key's bucket of the user write limit; it
// returns a rate_limited error when the bucket is empty.
func (s *Server) limitWrite(now time.Time, key string) error {
	if s.opt.UserRate <= 0 {
		return nil
	}
	if ok, wait := s.limiter.Allow(now, key, s.opt.UserRate, s.opt.UserBurst); !ok {
		return &rateLimitError{retryAfter: wait}
	}
	return nil
}

func equalFold(b []byte, s string) bool {
	for i := range len(s) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := s[i]
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// handleReadError answers requests fasthttp could not read.
// They count as unmatched in the metrics.
func (s *Server) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.writeError(ctx, edgeError(errBodyTooLarge, fmt.Sprintf("the body is over %d bytes", MaxBodyBytes)))
	} else {
		s.writeError(ctx, badRequest("cannot read the request: "+err.Error()))
	}
	s.metrics.observe(routeUnmatched, ctx.Response.StatusCode(), 0)
}

// fasthttpLogger sends fasthttp's logs (connection errors: noise under
// abuse, and answered already) to slog at debug level.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}
