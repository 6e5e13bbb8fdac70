package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Healthy reports whether Redis answered the last health PING within
// ProbeTimeout (and no call failed on the network or timed out after
// ProbeTimeout since). It is false from the first failed round trip until a
// PING succeeds; while it is false, calls fail at once with ErrUnavailable.
// With the defaults it turns false within about 0.5 s of Redis not
// answering and true within about 0.5 s of Redis answering again.
func (c *Client) Healthy() bool { return c.healthy.Load() }

// healthLoop PINGs, each PING bounded by ProbeTimeout, every HealthInterval
// while healthy, and with a backoff doubling from HealthMinBackoff to
// HealthMaxBackoff while not. A failed call wakes it at once.
func (c *Client) healthLoop() {
	defer close(c.done)
	backoff := c.opt.HealthMinBackoff
	timer := time.NewTimer(c.opt.HealthInterval)
	defer timer.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		case <-c.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.ProbeTimeout)
		err := c.ping(ctx)
		cancel()
		if err == nil && !c.healthy.Load() {
			// Redis is back, maybe restarted without our scripts: load them now
			// rather than on the first NOSCRIPT.
			ctx, cancel := context.WithTimeout(context.Background(), c.opt.DialTimeout+c.opt.ReadTimeout)
			err = c.loadScripts(ctx)
			cancel()
		}
		next := c.opt.HealthInterval
		if err == nil {
			backoff = c.opt.HealthMinBackoff
			c.reportUp()
		} else {
			c.setHealthy(false, err)
			next = backoff
			backoff = min(2*backoff, c.opt.HealthMaxBackoff)
		}
		timer.Reset(next)
	}
}

// ping PINGs the server, or every node of the cluster.
func (c *Client) ping(ctx context.Context) error {
	if c.cluster != nil {
		return c.cluster.ForEachShard(ctx, func(ctx context.Context, n *goredis.Client) error {
			return n.Ping(ctx).Err()
		})
	}
	return c.rdb.Ping(ctx).Err()
}

// reportUp records a successful health PING.
func (c *Client) reportUp() { c.setHealthy(true, nil) }

// probeNow asks the health loop to PING now.
func (c *Client) probeNow() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// reportDown records a failed round trip and wakes the health loop, which
// then probes with backoff until Redis answers.
func (c *Client) reportDown(err error) {
	if !c.setHealthy(false, err) {
		return // already down: the loop is probing with backoff
	}
	c.probeNow()
}

// setHealthy records the state and reports whether it changed.
func (c *Client) setHealthy(ok bool, err error) bool {
	if c.healthy.Load() == ok {
		return false
	}
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	if c.healthy.Load() == ok {
		return false
	}
	c.healthy.Store(ok)
	if ok {
		c.log.Info("redis healthy")
	} else {
		c.log.Warn("redis unhealthy", "err", err)
	}
	if c.opt.OnChange != nil {
		c.opt.OnChange(ok)
	}
	return true
}
