package edge

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/valyala/fasthttp"
)

// DeadLetterAdmin is the order pipeline's dead-letter store as the admin API
// sees it (pipeline.Relay implements it). Safe for concurrent use.
type DeadLetterAdmin interface {
	// ListDeadLetters returns the stored dead letters, oldest first.
	ListDeadLetters(ctx context.Context) ([]pipeline.DeadLetter, error)
	// RetryDeadLetter hands a dead letter back to delivery; an error wrapping
	// pipeline.ErrDeadLetterNotFound when there is none with that id.
	RetryDeadLetter(ctx context.Context, id string) error
	// DeadLetterCounts returns the events dead-lettered since start and the
	// dead letters stored now.
	DeadLetterCounts() (total, stored int64)
}

// deadLettersBody is the answer of GET /v1/admin/dead-letters.
type deadLettersBody struct {
	DeadLetters []pipeline.DeadLetter `json:"dead_letters"`
}

// deadLetterAdmin checks that the routes exist and the caller is the admin;
// it answers the error itself and returns false otherwise.
func (s *Server) deadLetterAdmin(ctx *fasthttp.RequestCtx) bool {
	if s.opt.DeadLetters == nil {
		s.writeError(ctx, edgeError(errNotFound, "no such route"))
		return false
	}
	if !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="boxoffice"`)
		s.writeError(ctx, edgeError(errUnauthorized, "an admin bearer token is required"))
		return false
	}
	return true
}

// listDeadLetters serves GET /v1/admin/dead-letters:
// 200 {"dead_letters":[{"id","event","attempts","last_error","dead_at"}]}.
func (s *Server) listDeadLetters(ctx *fasthttp.RequestCtx) {
	if !s.deadLetterAdmin(ctx) {
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	ds, err := s.opt.DeadLetters.ListDeadLetters(c)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	if ds == nil {
		ds = []pipeline.DeadLetter{}
	}
	b, err := json.Marshal(deadLettersBody{DeadLetters: ds})
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(b)
}

// retryDeadLetter serves POST /v1/admin/dead-letters/{id}/retry: 202 when
// the event went back to delivery, 404 dead_letter_not_found.
func (s *Server) retryDeadLetter(ctx *fasthttp.RequestCtx, id []byte) {
	if !s.deadLetterAdmin(ctx) {
		return
	}
	if !validRefID(id) {
		s.writeError(ctx, edgeError(pipeline.ErrDeadLetterNotFound, "no dead letter with this id"))
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	if err := s.opt.DeadLetters.RetryDeadLetter(c, string(id)); err != nil {
		s.writeError(ctx, err)
		return
	}
	w := getWriter()
	w.raw(`{"id":`)
	w.str(string(id))
	w.raw(`,"status":"retrying"}`)
	s.send(ctx, fasthttp.StatusAccepted, w)
}

// writeDeadLetterMetrics appends dead_letters_total (a counter) and
// dead_letters (a gauge) to /metrics when the pipeline is attached.
func (s *Server) writeDeadLetterMetrics(w *writer) {
	if s.opt.DeadLetters == nil {
		return
	}
	total, stored := s.opt.DeadLetters.DeadLetterCounts()
	w.raw("# HELP boxoffice_dead_letters_total Order events that became dead letters since start.\n")
	w.raw("# TYPE boxoffice_dead_letters_total counter\nboxoffice_dead_letters_total ")
	w.raw(strconv.FormatInt(total, 10))
	w.raw("\n# HELP boxoffice_dead_letters Dead letters stored.\n")
	w.raw("# TYPE boxoffice_dead_letters gauge\nboxoffice_dead_letters ")
	w.raw(strconv.FormatInt(stored, 10))
	w.raw("\n")
}
