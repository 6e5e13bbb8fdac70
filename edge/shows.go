package edge

import (
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// createShow serves POST /v1/shows (admin only).
func (s *Server) createShow(ctx *fasthttp.RequestCtx) {
	if !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="boxoffice"`)
		s.writeError(ctx, edgeError(errUnauthorized, "an admin bearer token is required"))
		return
	}
	cfg, err := parseShow(ctx.PostBody())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	doc, err := s.b.CreateShow(c, cfg)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	w := getWriter()
	w.show(&doc)
	s.send(ctx, fasthttp.StatusCreated, w)
}

// showParam copies the {show} path parameter, or fails with show_not_found
// when it cannot name a show.
func showParam(p []byte) (string, error) {
	if !validShowID(p) {
		return "", seatmap.ErrShowNotFound
	}
	return string(p), nil
}

// getShow serves GET /v1/shows/{show}.
func (s *Server) getShow(ctx *fasthttp.RequestCtx, p []byte) {
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	doc, err := s.b.GetShow(c, show)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	w := getWriter()
	w.show(&doc)
	s.send(ctx, fasthttp.StatusOK, w)
}

// seats serves GET /v1/shows/{show}/seats[?section=ID].
func (s *Server) seats(ctx *fasthttp.RequestCtx, p []byte) {
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	section := ctx.QueryArgs().Peek("section")
	if len(section) > maxSectionIDBytes {
		s.writeError(ctx, &seatmap.Error{Err: seatmap.ErrUnknownSection, Msg: "no such section"})
		return
	}
	sec := string(section)
	c := s.backendCtx(ctx)
	defer c.cancel()
	list, err := s.b.Seats(c, show, sec)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	w := getWriter()
	w.seats(list)
	s.send(ctx, fasthttp.StatusOK, w)
}
