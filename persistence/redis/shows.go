package redis

import (
	"context"
	"fmt"
	"time"
)

// RegisterShow stores a show's configuration under the show's hash tag
// ("{show:ID}:config") unless one is stored already (SET NX), and reports
// whether it did. show is a show id (1 to 64 of [A-Za-z0-9._-]), else
// ErrBadShard. The first registration wins; a later one with another cfg
// changes nothing (created false): compare with ShowConfig if it matters.
func (c *Client) RegisterShow(ctx context.Context, show string, cfg []byte) (created bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	key, err := configKey(show)
	if err != nil {
		return false, err
	}
	cl := &call{script: c.scr.setNX, keys: []string{key}, args: []any{cfg}, group: show}
	c.run(ctx, []*call{cl})
	n, err := cl.cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("redis: register show %s: %w", show, err)
	}
	if err := c.indexShow(ctx, show); err != nil {
		return false, err
	}
	return n == 1, nil
}

// ShowConfig returns a show's registered configuration and whether the show
// is registered: an unknown show id costs one GET and no state.
func (c *Client) ShowConfig(ctx context.Context, show string) ([]byte, bool, error) {
	if c.closed.Load() {
		return nil, false, ErrClosed
	}
	key, err := configKey(show)
	if err != nil {
		return nil, false, err
	}
	cl := &call{script: c.scr.get, keys: []string{key}, group: show}
	c.run(ctx, []*call{cl})
	return bytesReply(cl.cmd, "show config "+show)
}

// showIndexKey is a set of every registered show id, so a node can learn
// which shows exist in one small read (on Redis Cluster it lives in one slot;
// it is only ever touched alone).
const showIndexKey = "boxoffice:shows"

// ShowIDs returns the id of every registered show, from the index that
// RegisterShow maintains.
func (c *Client) ShowIDs(ctx context.Context) ([]string, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if !c.Healthy() {
		return nil, ErrUnavailable
	}
	start := time.Now()
	ids, err := c.rdb.SMembers(ctx, showIndexKey).Result()
	if err != nil {
		c.noteError(err, start)
		return nil, fmt.Errorf("redis: list shows: %w", err)
	}
	return ids, nil
}

// indexShow records a registered show in the index (idempotent; a
// registration whose index write was lost is indexed by its next Register).
func (c *Client) indexShow(ctx context.Context, show string) error {
	start := time.Now()
	if err := c.rdb.SAdd(ctx, showIndexKey, show).Err(); err != nil {
		c.noteError(err, start)
		return fmt.Errorf("redis: index show %s: %w", show, err)
	}
	return nil
}

// noteError reports a failed plain command (not a script call) to the health
// loop, as run does for scripts.
func (c *Client) noteError(err error, start time.Time) {
	switch {
	case isTimeout(err):
		if time.Since(start) >= c.opt.ProbeTimeout {
			c.reportDown(err)
			return
		}
		c.probeNow()
	case isNetworkError(err):
		c.reportDown(err)
	}
}
