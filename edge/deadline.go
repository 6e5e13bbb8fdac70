package edge

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of one Backend call: a deadline, no values, no
// parent. It is cheaper than context.WithTimeout because it arms a timer only
// when someone calls Done; a Backend that reads only Deadline (to size its
// own timeout) costs one small allocation. It is safe for concurrent use.
type callCtx struct {
	deadline time.Time
	mu       sync.Mutex // protects following fields
	done     chan struct{}
	timer    *time.Timer
	err      error
}

// newCallCtx returns a context that expires at deadline. The caller must
// call its cancel method when the Backend call returns.
func newCallCtx(deadline time.Time) *callCtx {
	return &callCtx{deadline: deadline}
}

var _ context.Context = (*callCtx)(nil)

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *callCtx) Value(any) any { return nil }

// Done arms the deadline timer on first use.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		} else if wait := time.Until(c.deadline); wait <= 0 {
			c.err = context.DeadlineExceeded
			close(c.done)
		} else {
			c.timer = time.AfterFunc(wait, c.expire)
		}
	}
	return c.done
}

func (c *callCtx) expire() { c.finish(context.DeadlineExceeded) }

// cancel ends the context (Err becomes context.Canceled unless it expired).
func (c *callCtx) cancel() { c.finish(context.Canceled) }

// finish ends the context with err unless it has ended already.
func (c *callCtx) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
}

// Err reports context.DeadlineExceeded once the deadline has passed, or
// context.Canceled after cancel, like context.WithTimeout's contexts.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
		if c.timer != nil {
			c.timer.Stop()
		}
		if c.done != nil {
			close(c.done)
		}
	}
	return c.err
}
