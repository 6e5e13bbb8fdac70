package redis

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Allow takes one token from the fleet-wide token bucket named key, which
// refills at ratePerSec up to burst tokens and starts full. nowMs is the
// caller's clock in Unix milliseconds (the script reads no clock, so it is
// deterministic and replicates safely); a now older than the bucket's last
// update refills nothing. When refused, retryAfter is when the next token
// is due. The bucket expires once it would be full again.
func (c *Client) Allow(ctx context.Context, key string, ratePerSec, burst float64, nowMs int64) (bool, time.Duration, error) {
	if c.closed.Load() {
		return false, 0, ErrClosed
	}
	if !(ratePerSec > 0) || !(burst >= 1) || math.IsInf(ratePerSec, 0) || math.IsInf(burst, 0) {
		return false, 0, fmt.Errorf("redis: allow %q: need rate > 0 and burst >= 1, got %v, %v", key, ratePerSec, burst)
	}
	cl := &call{script: c.scr.allow, keys: []string{rateKey(key)}, args: []any{ratePerSec, burst, nowMs}, group: key}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		c.met.allowErrors.Add(1)
		return false, 0, fmt.Errorf("redis: allow %q: %w", key, err)
	}
	if res[0] == 1 {
		c.met.allowGranted.Add(1)
		return true, 0, nil
	}
	c.met.allowDenied.Add(1)
	return false, time.Duration(res[1]) * time.Microsecond, nil
}
