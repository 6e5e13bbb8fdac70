package edge

import (
	"context"
	"strconv"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// QueueBackend is the waiting room and the waitlist (actors.Booking and
// edgetest.MemBackend implement it). Like Backend, it is safe for
// concurrent use, and user "" acts for anyone (tokenless).
type QueueBackend interface {
	// JoinQueue gives user a ticket; created=false when it had one.
	JoinQueue(ctx context.Context, show, user string) (ticket seatmap.TicketView, created bool, err error)
	QueueTicket(ctx context.Context, user, show, ticket string) (seatmap.TicketView, error)
	// JoinWaitlist adds an entry; created=false when the user had a live one.
	JoinWaitlist(ctx context.Context, req seatmap.WaitlistRequest) (entry seatmap.WaitlistEntryView, created bool, err error)
	WaitlistEntry(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error)
	LeaveWaitlist(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error)
}

// Keys of the room's and the waitlist's bodies.
var (
	queueKeys    = []string{"user"}
	waitlistKeys = []string{"user", "quantity", "together", "section", "tier"}
)

// parseQueueJoin parses POST /v1/shows/{show}/queue's body: empty, or
// {"user"} (required without tokens).
func parseQueueJoin(body []byte, needUser bool) (string, error) {
	var user string
	var given, ok bool
	if len(body) > 0 {
		r := reader{b: body}
		r.object(queueKeys, func(int) bool {
			user, given, ok = r.str("user")
			return ok
		})
		if r.err != "" {
			return "", badRequest(r.err)
		}
	}
	switch {
	case needUser && user == "", given && user == "":
		return "", badRequest("user is required")
	case len(user) > MaxUserBytes:
		return "", badRequest("user is longer than " + strconv.Itoa(MaxUserBytes) + " bytes")
	}
	return user, nil
}

// parseWaitlist parses POST /v1/shows/{show}/waitlist's body:
// {"user"?, "quantity", "together"?, "section"? | "tier"?}.
func parseWaitlist(body []byte, needUser bool) (seatmap.WaitlistRequest, error) {
	var (
		req                                      seatmap.WaitlistRequest
		userGiven, qtyGiven, secGiven, tierGiven bool
		ok                                       bool
		qty                                      int64
	)
	r := reader{b: body}
	r.object(waitlistKeys, func(i int) bool {
		switch i {
		case 0:
			req.User, userGiven, ok = r.str("user")
		case 1:
			qty, qtyGiven, ok = r.int("quantity")
		case 2:
			req.Together, _, ok = r.bool("together")
		case 3:
			req.Section, secGiven, ok = r.str("section")
		case 4:
			req.Tier, tierGiven, ok = r.str("tier")
		}
		return ok
	})
	switch {
	case r.err != "":
		return req, badRequest(r.err)
	case needUser && (!userGiven || req.User == ""), userGiven && req.User == "":
		return req, badRequest("user is required")
	case len(req.User) > MaxUserBytes:
		return req, badRequest("user is longer than " + strconv.Itoa(MaxUserBytes) + " bytes")
	case !qtyGiven || qty < 1 || qty > seatmap.MaxWaitlistQuantity:
		return req, badRequest("quantity must be in 1.." + strconv.Itoa(seatmap.MaxWaitlistQuantity))
	case secGiven && tierGiven:
		return req, badRequest("give a section or a tier, not both")
	case secGiven && req.Section == "", tierGiven && req.Tier == "":
		return req, badRequest("section and tier must not be empty")
	case len(req.Section) > maxSectionIDBytes:
		return req, &seatmap.Error{Err: seatmap.ErrUnknownSection, Msg: "no such section"}
	case len(req.Tier) > maxSectionIDBytes:
		return req, &seatmap.Error{Err: seatmap.ErrUnknownTier, Msg: "no such tier"}
	}
	req.Quantity = int(qty)
	return req, nil
}

// bool reads a JSON true or false (null counts as absent).
func (r *reader) bool(name string) (v, given, ok bool) {
	r.ws()
	switch {
	case r.null():
		return false, false, true
	case len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
		return true, true, true
	case len(r.b)-r.i >= 5 && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
		return false, true, true
	}
	return false, false, r.fail(name + " must be true or false")
}

// queueBackend returns the room's backend, or a 404 error when the node has none.
func (s *Server) queueBackend() (QueueBackend, error) {
	if s.queue == nil {
		return nil, edgeError(errNotFound, "no such route")
	}
	return s.queue, nil
}

// joinQueue serves POST /v1/shows/{show}/queue.
func (s *Server) joinQueue(ctx *fasthttp.RequestCtx, p []byte, now time.Time) {
	q, err := s.queueBackend()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	sub, err := s.caller(ctx)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	user, err := parseQueueJoin(ctx.PostBody(), sub == "")
	if err == nil {
		user, err = bodyUser(sub, user)
	}
	if err == nil {
		err = s.limitWrite(now, show+"\x00q\x00"+user)
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	t, created, err := q.JoinQueue(c, show, user)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	status := fasthttp.StatusCreated
	if !created {
		status = fasthttp.StatusOK
	}
	s.sendTicket(ctx, status, &t)
}

// getTicket serves GET /v1/shows/{show}/queue/{ticket}.
func (s *Server) getTicket(ctx *fasthttp.RequestCtx, p1, p2 []byte) {
	q, err := s.queueBackend()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	user, show, id, err := s.refParams(ctx, p1, p2, seatmap.ErrTicketNotFound)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	t, err := q.QueueTicket(c, user, show, id)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendTicket(ctx, fasthttp.StatusOK, &t)
}

// refParams authenticates the caller and copies {show} and a ticket or
// entry id, failing with unauthorized, show_not_found or notFound.
func (s *Server) refParams(ctx *fasthttp.RequestCtx, p1, p2 []byte, notFound error) (user, show, id string, err error) {
	if user, err = s.caller(ctx); err != nil {
		return "", "", "", err
	}
	if show, err = showParam(p1); err != nil {
		return "", "", "", err
	}
	if !validRefID(p2) {
		return "", "", "", notFound
	}
	return user, show, string(p2), nil
}

// sendTicket writes a ticket; an admitted one carries its signed pass.
func (s *Server) sendTicket(ctx *fasthttp.RequestCtx, status int, t *seatmap.TicketView) {
	w := getWriter()
	w.raw(`{"ticket":`)
	w.str(t.ID)
	w.raw(`,"show":`)
	w.str(t.Show)
	w.raw(`,"state":`)
	w.str(t.State)
	w.raw(`,"position":`)
	w.int(int64(t.Position))
	w.raw(`,"estimated_wait_seconds":`)
	w.int(int64(t.EstimatedWaitSeconds))
	switch t.State {
	case seatmap.TicketAdmitted:
		w.raw(`,"pass":`)
		w.str(mintPass(s.passKey, queuePass{Show: t.Show, User: t.User, Ticket: t.ID, ExpMs: t.PassExpiresAt}))
		w.raw(`,"pass_expires_at":`)
		w.timeMs(t.PassExpiresAt)
	case seatmap.TicketSoldOut:
		w.raw(`,"returns_possible":`)
		w.int(int64(t.ReturnsPossible))
	}
	if t.OpensAt > 0 {
		w.raw(`,"opens_at":`)
		w.timeMs(t.OpensAt)
	}
	w.b = append(w.b, '}')
	s.send(ctx, status, w)
}

// joinWaitlist serves POST /v1/shows/{show}/waitlist.
func (s *Server) joinWaitlist(ctx *fasthttp.RequestCtx, p []byte, now time.Time) {
	q, err := s.queueBackend()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	show, err := showParam(p)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	sub, err := s.caller(ctx)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	req, err := parseWaitlist(ctx.PostBody(), sub == "")
	if err == nil {
		req.User, err = bodyUser(sub, req.User)
	}
	if err == nil {
		req.Show = show
		err = s.limitWrite(now, show+"\x00w\x00"+req.User)
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	e, created, err := q.JoinWaitlist(c, req)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	status := fasthttp.StatusCreated
	if !created {
		status = fasthttp.StatusOK
	}
	s.sendEntry(ctx, status, &e)
}

// waitlistEntry serves GET and DELETE /v1/shows/{show}/waitlist/{entry}.
func (s *Server) waitlistEntry(ctx *fasthttp.RequestCtx, p1, p2 []byte, leave bool, now time.Time) {
	q, err := s.queueBackend()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	user, show, id, err := s.refParams(ctx, p1, p2, seatmap.ErrEntryNotFound)
	if err == nil && leave {
		if k := writeKey(user); k != "" {
			err = s.limitWrite(now, k)
		}
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	if leave {
		if _, err := q.LeaveWaitlist(c, user, show, id); err != nil {
			s.writeError(ctx, err)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	e, err := q.WaitlistEntry(c, user, show, id)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.sendEntry(ctx, fasthttp.StatusOK, &e)
}

// sendEntry writes a waitlist entry.
func (s *Server) sendEntry(ctx *fasthttp.RequestCtx, status int, e *seatmap.WaitlistEntryView) {
	w := getWriter()
	w.raw(`{"id":`)
	w.str(e.ID)
	w.raw(`,"show":`)
	w.str(e.Show)
	w.raw(`,"user":`)
	w.str(e.User)
	w.raw(`,"quantity":`)
	w.int(int64(e.Quantity))
	w.raw(`,"together":`)
	w.raw(strconv.FormatBool(e.Together))
	if e.Section != "" {
		w.raw(`,"section":`)
		w.str(e.Section)
	}
	if e.Tier != "" {
		w.raw(`,"tier":`)
		w.str(e.Tier)
	}
	w.raw(`,"state":`)
	w.str(e.State)
	if e.State == seatmap.EntryWaiting {
		w.raw(`,"position":`)
		w.int(int64(e.Position))
	}
	w.raw(`,"created_at":`)
	w.timeMs(e.CreatedAt)
	if e.HoldID != "" {
		w.raw(`,"hold":`)
		w.str(e.HoldID)
		w.raw(`,"seats":`)
		w.strs(e.Seats)
		w.raw(`,"general":`)
		w.general(e.General)
		w.raw(`,"offer_expires_at":`)
		w.timeMs(e.OfferExpiresAt)
	}
	if e.OrderID != "" {
		w.raw(`,"order":`)
		w.str(e.OrderID)
	}
	if e.Reason != "" {
		w.raw(`,"reason":`)
		w.str(e.Reason)
	}
	w.b = append(w.b, '}')
	s.send(ctx, status, w)
}

// roomDoc writes the show document's "queue" and "waitlist" parts.
func (w *writer) roomDoc(d *seatmap.ShowDoc) {
	if q := d.Queue; q != nil {
		w.raw(`,"queue":{"opened":`)
		w.raw(strconv.FormatBool(q.Opened))
		if q.OpensAt > 0 {
			w.raw(`,"opens_at":`)
			w.timeMs(q.OpensAt)
		}
		w.raw(`,"pass_ttl_seconds":`)
		w.int(int64(q.PassTTLSeconds))
		w.raw(`,"max_active":`)
		w.int(int64(q.MaxActive))
		w.raw(`,"admit_factor":`)
		w.raw(strconv.FormatFloat(q.AdmitFactor, 'f', -1, 64))
		w.raw(`,"tickets":`)
		w.int(int64(q.Tickets))
		w.raw(`,"waiting":`)
		w.int(int64(q.Waiting))
		w.raw(`,"live":`)
		w.int(int64(q.Live))
		w.raw(`,"unconverted":`)
		w.int(int64(q.Unconverted))
		w.raw(`,"admitted_total":`)
		w.int(int64(q.AdmittedTotal))
		if q.Opened {
			w.raw(`,"seed":`)
			w.str(strconv.FormatUint(q.Seed, 16))
		}
		w.b = append(w.b, '}')
	}
	if l := d.Waitlist; l != nil {
		w.raw(`,"waitlist":{"entries":`)
		w.int(int64(l.Entries))
		w.raw(`,"waiting":`)
		w.int(int64(l.Waiting))
		w.raw(`,"offered":`)
		w.int(int64(l.Offered))
		w.raw(`,"accepted":`)
		w.int(int64(l.Accepted))
		w.raw(`,"lapsed":`)
		w.int(int64(l.Lapsed))
		w.b = append(w.b, '}')
	}
}
