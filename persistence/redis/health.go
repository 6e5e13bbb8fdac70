package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Healthy reports whether Redis answered the last probe or call. It is
// false from the first failed round trip until a PING (or a call) succeeds.
func (c *Client) Healthy() bool { return c.healthy.Load() }

// healthLoop PINGs every HealthInterval while healthy, and with a backoff
// doubling from HealthMinBackoff to HealthMaxBackoff while not. A failed
// call wakes it at once.
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
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.DialTimeout+c.opt.ReadTimeout)
		err := c.ping(ctx)
		if err == nil && !c.healthy.Load() {
			// Redis is back, maybe restarted without our scripts: load them now
			// rather than on the first NOSCRIPT.
			err = c.loadScripts(ctx)
		}
		cancel()
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

// reportUp records a successful round trip.
func (c *Client) reportUp() { c.setHealthy(true, nil) }

// reportDown records a failed round trip and wakes the health loop, which
// then probes with backoff until Redis answers.
func (c *Client) reportDown(err error) {
	if !c.setHealthy(false, err) {
		return // already down: the loop is probing with backoff
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
