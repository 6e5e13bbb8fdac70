package edge

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/actors/stream"
)

// SSE timing: a heartbeat comment keeps proxies and clients from timing the
// stream out; a subscriber whose socket takes a write longer than
// sseWriteTimeout is dropped.
var (
	sseHeartbeat    = 15 * time.Second
	sseWriteTimeout = 10 * time.Second
)

// sseSnapshot is the first event of a stream that starts without
// Last-Event-ID, or resumes from an id the node no longer keeps.
type sseSnapshot struct {
	Show      string                `json:"show"`
	Seq       uint64                `json:"seq"`
	Seats     map[string]string     `json:"seats"`
	Sections  []seatmap.SectionView `json:"sections"`
	Available int                   `json:"available"`
}

// showEvents serves GET /v1/shows/{show}/events: a Server-Sent Events
// stream of the show's inventory events (`id: <seq>`, `event: inventory`),
// preceded by `event: snapshot` when there is no Last-Event-ID or it is
// older than the node's ring. Readers follow the show's ring (actors/stream)
// on their own goroutines: the show's actor and writer never wait for them.
func (s *Server) showEvents(ctx *fasthttp.RequestCtx, p []byte) {
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	hub := s.opt.Streams
	if hub == nil {
		s.writeError(ctx, edgeError(errNotFound, "no such route"))
		return
	}
	st := hub.Lookup(show)
	if st == nil {
		// not published here yet: activate the show (404 when unknown)
		c := s.backendCtx(ctx)
		_, err := s.b.GetShow(c, show)
		c.cancel()
		if err != nil {
			s.writeError(ctx, err)
			return
		}
		st = hub.Show(show)
	}
	after, resume := uint64(0), false
	if id := ctx.Request.Header.Peek("Last-Event-ID"); len(id) > 0 {
		if n, err := strconv.ParseUint(string(id), 10, 64); err == nil {
			after, resume = n, true
		}
	} else if id := ctx.QueryArgs().Peek("last_event_id"); len(id) > 0 {
		if n, err := strconv.ParseUint(string(id), 10, 64); err == nil {
			after, resume = n, true
		}
	}
	// The stream takes the connection over (Hijack): written straight to
	// the socket by one goroutine per subscriber, with no chunked encoding
	// and no pipe between the handler and the connection (fasthttp's body
	// stream writer costs a goroutine, a pipe and a copy per write). The
	// response ends with the connection (Connection: close).
	ctx.SetStatusCode(fasthttp.StatusOK) // for the metrics; the status line is written below
	ctx.HijackSetNoResponse(true)
	b, closing, log := s.b, s.closing, s.log
	ctx.Hijack(func(conn net.Conn) {
		w := bufio.NewWriterSize(conn, 16<<10)
		w.WriteString(sseHead)
		sub := sseSub{w: w, conn: conn, st: st, show: show, b: b, offset: time.Duration(rand.Int64N(int64(sseSpread) + 1))}
		if err := sub.run(after, resume, closing); err != nil {
			log.Debug("sse: stream ended", "show", show, "err", err)
		}
	})
}

// sseHead is the response head of every stream.
const sseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
	"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n"

type sseSub struct {
	w    *bufio.Writer
	conn net.Conn
	st   *stream.Show
	show string
	b    Backend
	buf  []byte
	// offset spreads the subscribers of a show over the window: each
	// writes its frame this long after the window closed, so a thousand
	// subscribers are not a thousand goroutines runnable at once
	offset time.Duration
}

var sseSpread = 125 * time.Millisecond

// sseErr says why a stream ended.
type sseErr string

func (e sseErr) Error() string { return string(e) }

func (u *sseSub) run(after uint64, resume bool, closing <-chan struct{}) error {
	leave := u.st.Subscribe()
	defer leave()
	cursor, needSnap := after, !resume
	u.w.WriteString("retry: 1000\n\n")
	if err := u.flush(); err != nil {
		return err
	}
	hb := time.NewTicker(sseHeartbeat)
	defer hb.Stop()
	catchUp := resume // a resume may take events from the ring; a streaming reader only windows
	for {
		if needSnap {
			seq, err := u.snapshot()
			if err != nil {
				return err
			}
			cursor, needSnap, catchUp = seq, false, false
		}
		out, next, ok, wake := u.st.Next(cursor, catchUp, u.buf[:0])
		u.buf = out[:0]
		if !ok {
			if !catchUp {
				return sseErr("subscriber too slow: dropped")
			}
			needSnap = true
			continue
		}
		catchUp = false
		if len(out) > 0 {
			u.w.Write(out)
			cursor = next
			if err := u.flush(); err != nil {
				return err
			}
		}
		select {
		case <-wake:
			if sseSpread > 0 {
				time.Sleep(u.offset)
			}
		case <-hb.C:
			u.w.WriteString(": heartbeat\n\n")
			if err := u.flush(); err != nil {
				return err
			}
		case <-closing:
			return sseErr("server shutting down")
		}
	}
}

func (u *sseSub) flush() error {
	if u.conn != nil {
		u.conn.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	}
	return u.w.Flush()
}

// snapshot writes an `event: snapshot` of the show and returns its seq.
// Readers that start in one window share one snapshot (stream.Snapshot).
// Seat states come from the copy the show's actor publishes per turn (no
// message to the actor); it may be a turn ahead of seq, which is harmless:
// events carry absolute states.
func (u *sseSub) snapshot() (uint64, error) {
	seq, data, err := u.st.Snapshot(func(seq uint64, sections []seatmap.SectionView, avail int) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultBackendTimeout)
		list, err := u.b.Seats(ctx, u.show, "")
		cancel()
		if err != nil {
			return nil, err
		}
		snap := sseSnapshot{Show: u.show, Seq: seq, Seats: make(map[string]string, len(list)), Sections: sections, Available: avail}
		for _, e := range list {
			snap.Seats[e.ID] = e.State.String()
		}
		body, err := json.Marshal(&snap)
		if err != nil {
			return nil, err
		}
		out := append([]byte("id: "), strconv.FormatUint(seq, 10)...)
		out = append(append(append(out, "\nevent: snapshot\ndata: "...), body...), "\n\n"...)
		return out, nil
	})
	if err != nil {
		return 0, err
	}
	u.w.Write(data)
	return seq, u.flush()
}
