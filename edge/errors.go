package edge

import (
	"context"
	"errors"
	"strconv"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// Errors of the HTTP layer itself; the core's errors are seatmap sentinels.
var (
	// errUnauthorized: the bearer token the route needs (admin, internal or
	// user) is missing or wrong; answered with WWW-Authenticate: Bearer.
	errUnauthorized = errors.New("unauthorized")
	// errForbidden: the body names a user other than the token's subject.
	errForbidden = errors.New("forbidden")
	// errNotFound: no route matches the path.
	errNotFound = errors.New("not_found")
	// errMethodNotAllowed: the path exists but not with this method.
	errMethodNotAllowed = errors.New("method_not_allowed")
	// errBodyTooLarge: the request body is over MaxBodyBytes.
	errBodyTooLarge = errors.New("body_too_large")
	// errRateLimited: the caller's token bucket is empty.
	errRateLimited = errors.New("rate_limited")
)

// statusTable maps each error sentinel to its HTTP status. It is the one
// place that does; its code is the sentinel's text.
var statusTable = [...]struct {
	err    error
	status int
}{
	{seatmap.ErrInvalidRequest, fasthttp.StatusBadRequest},
	{seatmap.ErrShowExists, fasthttp.StatusConflict},
	{seatmap.ErrShowNotFound, fasthttp.StatusNotFound},
	{seatmap.ErrUnknownSeat, fasthttp.StatusUnprocessableEntity},
	{seatmap.ErrUnknownSection, fasthttp.StatusUnprocessableEntity},
	{seatmap.ErrUnknownTier, fasthttp.StatusUnprocessableEntity},
	{seatmap.ErrLimitExceeded, fasthttp.StatusUnprocessableEntity},
	{seatmap.ErrSeatsUnavailable, fasthttp.StatusConflict},
	{seatmap.ErrSoldOut, fasthttp.StatusConflict},
	{seatmap.ErrHoldNotFound, fasthttp.StatusNotFound},
	{seatmap.ErrHoldExpired, fasthttp.StatusGone},
	{seatmap.ErrOrderNotFound, fasthttp.StatusNotFound},
	{seatmap.ErrInvalidState, fasthttp.StatusConflict},
	{seatmap.ErrIdempotencyMismatch, fasthttp.StatusUnprocessableEntity},
	{seatmap.ErrUnavailable, fasthttp.StatusServiceUnavailable},
	{seatmap.ErrQueueRequired, fasthttp.StatusForbidden},
	{seatmap.ErrNoQueue, fasthttp.StatusConflict},
	{seatmap.ErrTicketNotFound, fasthttp.StatusNotFound},
	{seatmap.ErrNotSoldOut, fasthttp.StatusConflict},
	{seatmap.ErrEntryNotFound, fasthttp.StatusNotFound},
	{pipeline.ErrDeadLetterNotFound, fasthttp.StatusNotFound},
	{pipeline.ErrWebhookNotFound, fasthttp.StatusNotFound},
	{pipeline.ErrWebhookURLForbidden, fasthttp.StatusBadRequest},
	{errUnauthorized, fasthttp.StatusUnauthorized},
	{errForbidden, fasthttp.StatusForbidden},
	{errNotFound, fasthttp.StatusNotFound},
	{errMethodNotAllowed, fasthttp.StatusMethodNotAllowed},
	{errBodyTooLarge, fasthttp.StatusRequestEntityTooLarge},
	{errRateLimited, fasthttp.StatusTooManyRequests},
	// A Backend call that ran out of time is an overload, not a bug.
	{context.DeadlineExceeded, fasthttp.StatusServiceUnavailable},
	{context.Canceled, fasthttp.StatusServiceUnavailable},
}

// codeInternal is the code of every error the table does not know.
const codeInternal = "internal"

// classify returns the HTTP status and API code of err; unknown errors are
// 500 "internal".
func classify(err error) (status int, code string) {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			if e.err == context.DeadlineExceeded || e.err == context.Canceled {
				return e.status, seatmap.ErrUnavailable.Error()
			}
			return e.status, e.err.Error()
		}
	}
	return fasthttp.StatusInternalServerError, codeInternal
}

// badRequest returns an invalid_request error with a message.
func badRequest(msg string) error {
	return &seatmap.Error{Err: seatmap.ErrInvalidRequest, Msg: msg}
}

// edgeError returns one of the edge's own errors with a message.
func edgeError(sentinel error, msg string) error {
	return &seatmap.Error{Err: sentinel, Msg: msg}
}

// writeError answers with err as {"error":{"code","message"[,"seats"]}}.
// Unknown errors are logged and answered as 500 without their text.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	status, code := classify(err)
	msg := ""
	if status == fasthttp.StatusInternalServerError {
		s.log.Error("internal error", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
		msg = "internal error"
	} else {
		msg = seatmap.ErrorMessage(err)
	}
	w := getWriter()
	w.errorBody(code, msg, seatmap.TakenSeats(err), errors.Is(err, seatmap.ErrSeatsUnavailable))
	if status == fasthttp.StatusTooManyRequests {
		var rl *rateLimitError
		if errors.As(err, &rl) {
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(rl.retryAfterSeconds()))
		}
	}
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="boxoffice"`)
	}
	if status == fasthttp.StatusMethodNotAllowed {
		var ma *methodError
		if errors.As(err, &ma) {
			ctx.Response.Header.Set("Allow", ma.allow)
		}
	}
	s.send(ctx, status, w)
}

// methodError is a method_not_allowed error with the methods the path allows.
type methodError struct{ allow string }

func (e *methodError) Error() string { return "method not allowed; allowed: " + e.allow }
func (e *methodError) Unwrap() error { return errMethodNotAllowed }
