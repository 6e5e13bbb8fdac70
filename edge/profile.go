package edge

import (
	"bytes"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// Bounds of GET /v1/admin/profile's ?seconds.
const (
	defaultProfileSeconds = 10
	maxProfileSeconds     = 30 // under DefaultWriteTimeout and load balancers' idle timeouts
)

// contentTypeProfile is the type of a pprof profile (gzipped protobuf).
const contentTypeProfile = "application/octet-stream"

// serveProfile serves GET /v1/admin/profile?seconds=N (admin token): the
// process's CPU profile over the next N seconds (1..30, default 10) in
// pprof's format, for `go tool pprof`. One profile runs at a time per
// process: a second caller gets 503 unavailable. Shutdown ends it early.
func (s *Server) serveProfile(ctx *fasthttp.RequestCtx) {
	if !s.authorized(ctx) {
		s.writeError(ctx, edgeError(errUnauthorized, "an admin bearer token is required"))
		return
	}
	seconds, err := profileSeconds(ctx.QueryArgs().Peek("seconds"))
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		s.writeError(ctx, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "a CPU profile is running already"})
		return
	}
	t := time.NewTimer(time.Duration(seconds) * time.Second)
	select {
	case <-t.C:
	case <-s.closing:
		t.Stop()
	}
	pprof.StopCPUProfile()
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentType(contentTypeProfile)
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="cpu.pprof"`)
	ctx.Response.SetBody(buf.Bytes())
}

// profileSeconds parses ?seconds: empty is the default; else an integer in
// 1..maxProfileSeconds, or invalid_request.
func profileSeconds(raw []byte) (int, error) {
	if len(raw) == 0 {
		return defaultProfileSeconds, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > maxProfileSeconds {
		return 0, badRequest("seconds must be an integer in 1.." + strconv.Itoa(maxProfileSeconds))
	}
	return n, nil
}
