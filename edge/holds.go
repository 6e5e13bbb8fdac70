package edge

import (
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// createHold serves POST /v1/shows/{show}/holds.
func (s *Server) createHold(ctx *fasthttp.RequestCtx, p []byte, now time.Time) {
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	req, err := parseHold(ctx.PostBody())
	if err == nil {
		req.Show = show
		err = holdIdempotency(&req, ctx.Request.Header.Peek("Idempotency-Key"))
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	if s.opt.UserRate > 0 {
		if ok, wait := s.limiter.Allow(now, show+"\x00"+req.User, s.opt.UserRate, s.opt.UserBurst); !ok {
			s.writeError(ctx, &rateLimitError{retryAfter: wait})
			return
		}
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	h, created, err := s.b.Hold(c, req)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	status := fasthttp.StatusCreated
	if !created {
		status = fasthttp.StatusOK
	}
	s.sendHold(ctx, status, &h)
}

func (s *Server) sendHold(ctx *fasthttp.RequestCtx, status int, h *seatmap.HoldView) {
	w := getWriter()
	w.hold(h)
	s.send(ctx, status, w)
}

// holdParams copies {show} and {hold}, failing with show_not_found or
// hold_not_found when they cannot name one.
func holdParams(p1, p2 []byte) (show, hold string, err error) {
	if show, err = showParam(p1); err != nil {
		return "", "", err
	}
	if !validRefID(p2) {
		return "", "", seatmap.ErrHoldNotFound
	}
	return show, string(p2), nil
}

// getHold serves GET /v1/shows/{show}/holds/{hold}.
func (s *Server) getHold(ctx *fasthttp.RequestCtx, p1, p2 []byte) {
	show, hold, err := holdParams(p1, p2)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	h, err := s.b.GetHold(c, show, hold)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendHold(ctx, fasthttp.StatusOK, &h)
}

// releaseHold serves DELETE /v1/shows/{show}/holds/{hold}.
func (s *Server) releaseHold(ctx *fasthttp.RequestCtx, p1, p2 []byte) {
	show, hold, err := holdParams(p1, p2)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	if err := s.b.ReleaseHold(c, show, hold); err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// extendHold serves POST /v1/shows/{show}/holds/{hold}/extend.
func (s *Server) extendHold(ctx *fasthttp.RequestCtx, p1, p2 []byte) {
	show, hold, err := holdParams(p1, p2)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	seconds, err := parseExtend(ctx.PostBody())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	h, err := s.b.ExtendHold(c, show, hold, seconds)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendHold(ctx, fasthttp.StatusOK, &h)
}
