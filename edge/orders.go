package edge

import (
	"errors"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// createOrder serves POST /v1/orders: 201 when created, 200 when the hold
// or the idempotency key already made it.
func (s *Server) createOrder(ctx *fasthttp.RequestCtx, now time.Time) {
	sub, err := s.caller(ctx)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	req, err := parseOrder(ctx.PostBody(), ctx.Request.Header.Peek("Idempotency-Key"))
	if err == nil && writeKey(sub) != "" {
		err = s.limitWrite(now, writeKey(sub))
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	req.User, req.IdemKey = sub, scopeKey(sub, req.IdemKey)
	c := s.backendCtx(ctx)
	defer c.cancel()
	o, created, err := s.b.CreateOrder(c, req)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	s.sendOrder(ctx, status, &o)
}

func (s *Server) sendOrder(ctx *fasthttp.RequestCtx, status int, o *seatmap.OrderView) {
	w := getWriter()
	w.order(o)
	s.send(ctx, status, w)
}

// orderErr reports an order id naming no show as order_not_found: for the
// client, the order does not exist.
func orderErr(err error) error {
	if errors.Is(err, seatmap.ErrShowNotFound) {
		return &seatmap.Error{Err: seatmap.ErrOrderNotFound, Msg: "no such order"}
	}
	return err
}

// orderParam authenticates the caller and copies {order}, or fails with
// unauthorized or order_not_found. With now set (a write) it also takes the
// caller's write limit.
func (s *Server) orderParam(ctx *fasthttp.RequestCtx, p []byte, now time.Time) (user, id string, err error) {
	if user, err = s.caller(ctx); err != nil {
		return "", "", err
	}
	if !validRefID(p) {
		return "", "", seatmap.ErrOrderNotFound
	}
	if k := writeKey(user); !now.IsZero() && k != "" {
		if err := s.limitWrite(now, k); err != nil {
			return "", "", err
		}
	}
	return user, string(p), nil
}

// getOrder serves GET /v1/orders/{order}.
func (s *Server) getOrder(ctx *fasthttp.RequestCtx, p []byte) {
	user, id, err := s.orderParam(ctx, p, time.Time{})
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	o, err := s.b.GetOrder(c, user, id)
	if err != nil {
		s.writeError(ctx, orderErr(err))
		return
	}
	s.sendOrder(ctx, fasthttp.StatusOK, &o)
}

// payOrder serves POST /v1/orders/{order}/pay: 202, the payment proceeds
// asynchronously.
func (s *Server) payOrder(ctx *fasthttp.RequestCtx, p []byte, now time.Time) {
	user, id, err := s.orderParam(ctx, p, now)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	tok, err := parsePay(ctx.PostBody())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	o, err := s.b.PayOrder(c, user, id, tok)
	if err != nil {
		s.writeError(ctx, orderErr(err))
		return
	}
	s.sendOrder(ctx, fasthttp.StatusAccepted, &o)
}

// cancelOrder serves POST /v1/orders/{order}/cancel (empty body or {}).
func (s *Server) cancelOrder(ctx *fasthttp.RequestCtx, p []byte, now time.Time) {
	user, id, err := s.orderParam(ctx, p, now)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	if err := parseEmpty(ctx.PostBody()); err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	o, err := s.b.CancelOrder(c, user, id)
	if err != nil {
		s.writeError(ctx, orderErr(err))
		return
	}
	s.sendOrder(ctx, fasthttp.StatusOK, &o)
}
