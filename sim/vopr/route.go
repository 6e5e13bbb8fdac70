package vopr

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// A call is one command sent to one activation, waiting for its answer.
type call struct {
	id    int
	cmd   seatmap.Command
	reply chan seatmap.Result
	act   *activation
	p     *proc
	hop   bool // the answer travels back to another node
	// state: 0 waiting, 1 answered, 2 the activation stopped (dead letter), 3 timed out
	state int
	res   seatmap.Result
	timer *event
}

const (
	callWaiting = iota
	callAnswered
	callStopped
	callTimedOut
)

// stoppedAt: the activation stopped with the request in its mailbox (or got
// it after it stopped): Booking sees errStopped and resolves again.
func (c *call) stoppedAt(*activation) {
	if c.state != callWaiting {
		return
	}
	c.state = callStopped
	c.finish(0)
}

// finish resumes the waiting process after d.
func (c *call) finish(d time.Duration) {
	if c.timer != nil {
		c.timer.cancelled = true
		c.timer = nil
	}
	w := c.act.n.w
	p := c.p
	p.wake = w.s.after(d, c.act.n.id, "answer", c, p.resume)
}

func (c *call) describe() string {
	s := fmt.Sprintf("call#%d %s", c.id, describeCmd(c.cmd))
	if c.state == callAnswered {
		s += " -> " + describeResult(c.res)
	}
	return s
}

// pollAnswers collects the answers written to reply channels during the
// last step (by the actor, its writer, or a timer).
func (w *world) pollAnswers() {
	kept := w.calls[:0]
	for _, c := range w.calls {
		if c.state != callWaiting || c.act.dead { // a dead process answers nothing
			continue
		}
		select {
		case res := <-c.reply:
			c.state, c.res = callAnswered, res
			d := time.Duration(0)
			if c.hop {
				d = w.s.between(w.cfg.netMin, w.cfg.netMax)
			}
			c.finish(d)
		default:
			kept = append(kept, c)
		}
	}
	clear(w.calls[len(kept):])
	w.calls = kept
}

// remoteAttempt bounds one attempt on another node (Booking's remoteAttempt).
const remoteAttempt = 2 * time.Second

// send delivers cmd to owner's activation of show, from node entry, and
// waits (parks p) for its answer until deadline.
func (w *world) send(p *proc, entry, owner *node, show string, cmd seatmap.Command, deadline int64) *call {
	w.callSeq++
	c := &call{id: w.callSeq, cmd: cmd, p: p, hop: entry != owner}
	limit := deadline
	if c.hop {
		limit = min(deadline, w.s.now+int64(remoteAttempt))
		if entry.isolated || owner.isolated || !owner.alive || w.s.chance(w.cfg.pNetDrop) {
			// never arrives: the attempt times out
			w.s.sleep(p, entry.id, time.Duration(limit-w.s.now))
			c.state = callTimedOut
			return c
		}
		w.s.sleep(p, entry.id, w.s.between(w.cfg.netMin, w.cfg.netMax))
		if !owner.alive || !entry.alive {
			c.state = callTimedOut
			return c
		}
	}
	if !owner.alive {
		c.state = callStopped
		return c
	}
	a := owner.activation(show)
	c.act = a
	c.reply = make(chan seatmap.Result, 1)
	w.calls = append(w.calls, c)
	a.enqueue(&requestMsg{msg: actors.NewRequest(cmd, c.reply), c: c})
	if c.state == callWaiting {
		c.timer = w.s.after(time.Duration(limit-w.s.now), owner.id, "call timeout", c, func() {
			c.timer = nil
			if c.state == callWaiting {
				c.state = callTimedOut
				p.wake = nil
				p.resume()
			}
		})
	}
	p.park()
	return c
}

// invoke runs cmd on show as Booking.call does from node entry: resolve the
// owner (entry's view), send, retry on "moved" and on stopped activations
// with backoff until the deadline; errors of the command come back as
// seatmap errors.
func (w *world) invoke(p *proc, entry *node, show string, cmd seatmap.Command, timeout time.Duration) (seatmap.Result, error) {
	w.calledShow[show]++ // Booking.call: an in-flight counter, a placement lookup
	deadline := w.s.now + int64(timeout)
	inc := entry.inc
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			d := min(time.Duration(1<<min(attempt, 7))*time.Millisecond, 100*time.Millisecond)
			if w.s.now+int64(d) >= deadline {
				if lastErr == nil {
					lastErr = unavailable("show did not answer in time")
				}
				return seatmap.Result{}, lastErr
			}
			w.s.sleep(p, entry.id, d)
		}
		if !entry.alive || entry.inc != inc {
			return seatmap.Result{}, errConnLost
		}
		owner := w.nodes[entry.view[show]]
		c := w.send(p, entry, owner, show, cmd, deadline)
		if !entry.alive || entry.inc != inc {
			return seatmap.Result{}, errConnLost
		}
		switch c.state {
		case callAnswered:
			if isMoved(c.res.Err) {
				lastErr = c.res.Err
				continue
			}
			return c.res, c.res.Err
		case callStopped:
			lastErr = unavailable("show activation stopped")
			continue
		default: // timed out
			if c.hop && w.s.now < deadline {
				lastErr = unavailable("show did not answer")
				continue
			}
			return seatmap.Result{}, unavailable("show did not answer in time")
		}
	}
}

// errConnLost: the node the client talked to died during the call.
var errConnLost = errors.New("connection to the node lost")

func unavailable(msg string) error {
	return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: msg}
}

// isMoved is Booking's test for a "moved" 503 (resolve again).
func isMoved(err error) bool {
	return errors.Is(err, seatmap.ErrUnavailable) && strings.HasPrefix(seatmap.ErrorMessage(err), "show moved: ")
}

func describeCmd(c seatmap.Command) string {
	var b strings.Builder
	b.WriteString(c.Kind.String())
	if c.User != "" {
		b.WriteString(" u=" + c.User)
	}
	if c.HoldID != "" {
		b.WriteString(" hold=" + short(c.HoldID))
	}
	if c.OrderID != "" {
		b.WriteString(" order=" + short(c.OrderID))
	}
	if len(c.Seats) > 0 {
		fmt.Fprintf(&b, " seats=%v", c.Seats)
	}
	if c.Section != "" {
		b.WriteString(" section=" + c.Section)
	}
	if c.Tier != "" {
		b.WriteString(" tier=" + c.Tier)
	}
	if c.Quantity > 0 {
		fmt.Fprintf(&b, " q=%d", c.Quantity)
	}
	if c.IdemKey != "" {
		b.WriteString(" key=" + c.IdemKey)
	}
	if c.Attempt != "" {
		b.WriteString(" attempt=" + c.Attempt)
	}
	if c.Kind == seatmap.KindPayResult {
		fmt.Fprintf(&b, " ok=%v", c.Success)
	}
	return b.String()
}

func describeResult(r seatmap.Result) string {
	switch {
	case r.Err != nil:
		return "error " + r.Err.Error()
	case r.Hold != nil:
		return fmt.Sprintf("hold %s seats=%v ga=%v expires=%d order=%s", short(r.Hold.ID), r.Hold.Seats, r.Hold.General, r.Hold.ExpiresAt, short(r.Hold.OrderID))
	case r.Order != nil:
		return fmt.Sprintf("order %s %s attempt=%s", short(r.Order.ID), r.Order.Status, r.Order.Attempt)
	case r.Show != nil:
		return "show"
	}
	return "ok"
}

// short is an id without its show prefix.
func short(id string) string {
	if i := strings.IndexByte(id, '~'); i >= 0 {
		return id[i+1:]
	}
	return id
}
