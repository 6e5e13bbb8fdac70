package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Client is boxoffice's connection to Redis or Redis Cluster. It is safe for
// concurrent use by many goroutines; the per-shard ordering duties are the
// caller's (see the package documentation).
type Client struct {
	opt     Options
	log     *slog.Logger
	rdb     goredis.UniversalClient
	cluster *goredis.ClusterClient // nil on a single server
	scr     scripts
	met     metrics

	healthy  atomic.Bool
	healthMu sync.Mutex    // serializes health changes and OnChange calls
	wake     chan struct{} // asks the health loop to probe now
	stop     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	// dedupeUntil: until then (unix ns) scans of rows index what they read
	// to drop HSCAN's repeats (scanRows)
	dedupeUntil atomic.Int64
}

// Open connects, checks that Redis answers and loads the scripts on every
// master. With Options.TolerateDown an unreachable Redis is not an error:
// the client starts unhealthy.
func Open(ctx context.Context, opt Options) (*Client, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	rdb, cluster, err := opt.newUniversal()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opt: opt, log: opt.Logger, rdb: rdb, cluster: cluster, scr: newScripts(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := c.ping(ctx); err == nil {
		err = c.loadScripts(ctx)
		if err != nil && !opt.TolerateDown {
			rdb.Close()
			return nil, err
		}
		c.healthy.Store(err == nil)
	} else if !opt.TolerateDown {
		rdb.Close()
		return nil, err
	} else {
		c.log.Warn("redis unreachable at open; starting degraded", "err", err)
	}
	go c.healthLoop()
	return c, nil
}

// Close stops the health loop and closes the connections. Later calls fail
// with ErrClosed.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.rdb.Close()
}

// loadScripts loads every script on every master (and replica).
func (c *Client) loadScripts(ctx context.Context) error {
	for _, s := range c.scr.all() {
		if err := s.Load(ctx, c.rdb).Err(); err != nil {
			return err
		}
	}
	return nil
}

// call is one script invocation. Calls with the same group (a shard) are
// ordered: if one must be retried, every later one of its group is too.
type call struct {
	script *goredis.Script
	keys   []string
	args   []any
	group  string
	cmd    *goredis.Cmd
}

// waitResult is the outcome of WAIT after a run: the fewest replicas that
// acknowledged any of its round trips, or the error of one.
type waitResult struct {
	acked int64
	err   error
}

// run executes calls in one round trip per node (a pipeline; a single call
// goes alone) by EVALSHA. Calls that hit NOSCRIPT (Redis restarted or
// SCRIPT FLUSH), and the later calls of their group, are run again once
// after reloading the scripts. Each call's outcome is in call.cmd.
//
// While the client is unhealthy, nothing is sent: every call fails with
// ErrUnavailable. A connection error marks the client unhealthy; so does a
// timeout after at least ProbeTimeout (a shorter one, the caller's own
// deadline, only makes the health loop probe now). Success does not mark it
// healthy: only the health loop's PING does.
func (c *Client) run(ctx context.Context, calls []*call) { c.runWait(ctx, calls, false) }

// runWait is run, followed in each round trip, when wait is set, by WAIT
// WaitReplicas WaitTimeout on the same connection.
func (c *Client) runWait(ctx context.Context, calls []*call, wait bool) waitResult {
	var fail error
	if !c.healthy.Load() {
		fail = ErrUnavailable
	} else if err := ctx.Err(); err != nil {
		fail = err
	}
	if fail != nil {
		for _, cl := range calls {
			cl.cmd = goredis.NewCmd(ctx)
			cl.cmd.SetErr(fail)
		}
		return waitResult{err: fail}
	}
	start := time.Now()
	w := c.exec(ctx, calls, wait)
	var retry []*call
	again := map[string]bool{}
	for _, cl := range calls {
		if again[cl.group] || isNoScript(cl.cmd.Err()) {
			again[cl.group] = true
			retry = append(retry, cl)
		}
	}
	if len(retry) > 0 {
		c.met.reloads.Add(1)
		c.log.Info("redis scripts missing (restart or SCRIPT FLUSH); reloading", "calls", len(retry))
		if err := c.loadScripts(ctx); err != nil {
			for _, cl := range retry {
				cl.cmd.SetErr(err)
			}
		} else {
			// the retry may run on another connection: its WAIT covers only
			// its own writes, so keep the fewer acknowledgements
			if w2 := c.exec(ctx, retry, wait); w.err == nil && (w2.err != nil || w2.acked < w.acked) {
				w = w2
			}
		}
	}
	for _, cl := range calls {
		err := cl.cmd.Err()
		switch {
		case isTimeout(err):
			if time.Since(start) >= c.opt.ProbeTimeout {
				c.reportDown(err)
				return w
			}
			c.probeNow()
		case isNetworkError(err):
			c.reportDown(err)
			return w
		}
	}
	return w
}

// exec sends the calls, pipelined when there are several or when WAIT
// follows them.
func (c *Client) exec(ctx context.Context, calls []*call, wait bool) waitResult {
	if len(calls) == 1 && !wait {
		cl := calls[0]
		cl.cmd = c.rdb.EvalSha(ctx, cl.script.Hash(), cl.keys, cl.args...)
		return waitResult{}
	}
	pipe := c.rdb.Pipeline()
	for _, cl := range calls {
		cl.cmd = pipe.EvalSha(ctx, cl.script.Hash(), cl.keys, cl.args...)
	}
	var wc *goredis.Cmd
	if wait {
		wc = pipe.Do(ctx, "WAIT", c.opt.WaitReplicas, c.opt.WaitTimeout.Milliseconds())
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	if wc == nil {
		return waitResult{}
	}
	n, err := wc.Int64()
	return waitResult{acked: n, err: err}
}

// isNoScript reports a NOSCRIPT reply.
func isNoScript(err error) bool { return err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") }

// isTimeout reports a deadline that passed: the context's or a
// connection's (i/o timeout).
func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isNetworkError reports an error that is not a reply from Redis, a
// timeout (see isTimeout) nor the caller's cancellation: the connection
// failed.
func isNetworkError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) || isTimeout(err) {
		return false
	}
	var re goredis.Error
	if errors.As(err, &re) {
		// LOADING (AOF reload), CLUSTERDOWN, MASTERDOWN, TRYAGAIN: Redis is not serving.
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "READONLY"} {
			if goredis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	return true
}
