package edge

import (
	"bytes"
	"context"
	"embed"
	"path"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// The seat-map pages: plain HTML, CSS and JS embedded in the binary (no build
// step, no external assets). The pages read the public JSON API only.
//
//go:embed web/index.html web/show.html web/assets
var webFS embed.FS

// ShowLister lists the registered shows (actors.Booking implements it).
// Backends without it answer GET /v1/shows with an empty list.
type ShowLister interface {
	// ListShows returns the config of every show, sorted by id.
	ListShows(ctx context.Context) ([]seatmap.ShowConfig, error)
}

// listShows serves GET /v1/shows: {"shows":[{"id","name"}]}.
func (s *Server) listShows(ctx *fasthttp.RequestCtx) {
	var list []seatmap.ShowConfig
	if l := s.lister; l != nil {
		c := s.backendCtx(ctx)
		defer c.cancel()
		var err error
		if list, err = l.ListShows(c); err != nil {
			s.writeError(ctx, err)
			return
		}
	}
	w := getWriter()
	w.raw(`{"shows":[`)
	for i := range list {
		if i > 0 {
			w.raw(",")
		}
		w.raw(`{"id":`)
		w.str(list[i].ID)
		w.raw(`,"name":`)
		w.str(list[i].Name)
		w.raw("}")
	}
	w.raw("]}")
	s.send(ctx, fasthttp.StatusOK, w)
}

var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// pageCSP allows the pages nothing but their own origin.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// page serves GET /, GET /shows/{show} and GET /assets/{file}.
func (s *Server) page(ctx *fasthttp.RequestCtx, m match) {
	var name string
	switch m.route {
	case routePageIndex:
		name = "web/index.html"
	case routePageShow:
		if !validShowID(m.p1) {
			s.writeError(ctx, seatmap.ErrShowNotFound)
			return
		}
		name = "web/show.html"
	case routePageAsset:
		name = "web/assets/" + string(m.p1)
	}
	body, err := webFS.ReadFile(name)
	if err != nil || pageTypes[path.Ext(name)] == "" {
		s.writeError(ctx, edgeError(errNotFound, "no such page"))
		return
	}
	if m.route == routePageShow && s.opt.UserAuth != nil {
		// the page asks for a token instead of a user name
		body = bytes.Replace(body, []byte(`data-auth="user"`), []byte(`data-auth="token"`), 1)
	}
	h := &ctx.Response.Header
	h.Set("Content-Type", pageTypes[path.Ext(name)])
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBody(body)
}
