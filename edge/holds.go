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
	sub, claimPass, err := s.callerPass(ctx)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	req, err := parseHold(ctx.PostBody(), sub == "")
	if err == nil {
		req.User, err = bodyUser(sub, req.User)
	}
	if err == nil {
		req.Ticket, err = s.holdPass(ctx, claimPass, show, req.User, now)
	}
	if err == nil {
		req.Show = show
		err = holdIdempotency(&req, ctx.Request.Header.Peek("Idempotency-Key"))
		req.IdemKey = scopeKey(sub, req.IdemKey)
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	if err := s.limitWrite(now, show+"\x00"+req.User); err != nil {
		s.writeError(ctx, err)
		return
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

// holdPass checks the hold's waiting-room pass (X-Queue-Pass, else the
// token's queue_pass claim) and returns its ticket: "" without a pass (the
// show's actor refuses the hold if the show has a room), queue_required for
// a pass that is not valid for this show, user and instant.
func (s *Server) holdPass(ctx *fasthttp.RequestCtx, claim, show, user string, now time.Time) (string, error) {
	pass := string(ctx.Request.Header.Peek("X-Queue-Pass"))
	if pass == "" {
		pass = claim
	}
	if pass == "" {
		return "", nil
	}
	p, err := verifyPass(s.passKey, pass, show, user, now.UnixMilli())
	return p.Ticket, err
}

func (s *Server) sendHold(ctx *fasthttp.RequestCtx, status int, h *seatmap.HoldView) {
	w := getWriter()
	w.hold(h)
	s.send(ctx, status, w)
}

// scopeKey puts an idempotency key in its user's namespace (tokens on), so
// one user's key never meets another's.
func scopeKey(sub, key string) string {
	if sub == "" || key == "" {
		return key
	}
	return sub + "\x00" + key
}

// writeKey is the user write limit's key of a caller's writes other than
// holds ("" when there is no caller: tokenless, they have no user).
func writeKey(sub string) string {
	if sub == "" {
		return ""
	}
	return "w\x00" + sub
}

// holdParams authenticates the caller and copies {show} and {hold}, failing
// with unauthorized, show_not_found or hold_not_found. With now set (a
// write) it also takes the caller's write limit.
func (s *Server) holdParams(ctx *fasthttp.RequestCtx, p1, p2 []byte, now time.Time) (user, show, hold string, err error) {
	if user, err = s.caller(ctx); err != nil {
		return "", "", "", err
	}
	if show, err = showParam(p1); err != nil {
		return "", "", "", err
	}
	if !validRefID(p2) {
		return "", "", "", seatmap.ErrHoldNotFound
	}
	if k := writeKey(user); !now.IsZero() && k != "" {
		if err := s.limitWrite(now, k); err != nil {
			return "", "", "", err
		}
	}
	return user, show, string(p2), nil
}

// getHold serves GET /v1/shows/{show}/holds/{hold}.
func (s *Server) getHold(ctx *fasthttp.RequestCtx, p1, p2 []byte) {
	user, show, hold, err := s.holdParams(ctx, p1, p2, time.Time{})
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	h, err := s.b.GetHold(c, user, show, hold)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendHold(ctx, fasthttp.StatusOK, &h)
}

// releaseHold serves DELETE /v1/shows/{show}/holds/{hold}.
func (s *Server) releaseHold(ctx *fasthttp.RequestCtx, p1, p2 []byte, now time.Time) {
	user, show, hold, err := s.holdParams(ctx, p1, p2, now)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	if err := s.b.ReleaseHold(c, user, show, hold); err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// extendHold serves POST /v1/shows/{show}/holds/{hold}/extend.
func (s *Server) extendHold(ctx *fasthttp.RequestCtx, p1, p2 []byte, now time.Time) {
	user, show, hold, err := s.holdParams(ctx, p1, p2, now)
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
	h, err := s.b.ExtendHold(c, user, show, hold, seconds)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendHold(ctx, fasthttp.StatusOK, &h)
}
