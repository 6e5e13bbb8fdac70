package redis

import (
	"context"
	"fmt"
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
