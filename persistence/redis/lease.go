package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Leases: an activation may answer reads and refusals (which write nothing,
// so the epoch fence never sees them) only while it holds its show's lease,
// {show:ID}:lease = "ctr:nonce" of its epoch with a PX expiry.
//
//   - ActivateLease takes a new epoch (fencing the older activation's writes
//     and lease renewals at once) and the lease when it is free; when another
//     activation still holds it, it reports how long that lease has left: the
//     caller waits that long, then RenewLease (which now succeeds, nobody else
//     can renew) before it serves. The old holder stops serving before its
//     lease runs out by its own clock (it counts from the start of its last
//     renewal), so two activations never answer at the same time.
//   - RenewLease and every Checkpoint with LeaseTTL renew it while the epoch
//     is the shard's; a fenced activation gets *FencedError.
//   - ReleaseLease drops it on a graceful stop, so the next activation need
//     not wait.

// LeaseKey is the key of a shard's lease (for tests and operators).
func LeaseKey(shard string) (string, error) {
	k, err := keysOf(shard)
	return k.lease, err
}

func leaseValue(epoch uint64) string {
	ctr, nonce := splitEpoch(epoch)
	return strconv.FormatUint(ctr, 10) + ":" + strconv.FormatUint(nonce, 10)
}

// ActivateLease is Activate with a lease of ttl: it returns the new epoch
// and how long the caller must wait before it may serve (0: the lease is
// its own now). prev is the caller's previous epoch of the shard (0 if
// none): its lease counts as free.
func (c *Client) ActivateLease(ctx context.Context, shard string, prev uint64, ttl time.Duration) (uint64, time.Duration, error) {
	if c.closed.Load() {
		return 0, 0, ErrClosed
	}
	if ttl <= 0 {
		return 0, 0, fmt.Errorf("redis: activate %s: lease ttl %v", shard, ttl)
	}
	k, err := keysOf(shard)
	if err != nil {
		return 0, 0, err
	}
	p := ""
	if prev != 0 {
		p = leaseValue(prev)
	}
	nonce := 1 + rand.Uint64N(nonceMask)
	cl := &call{script: c.scr.activateLease, keys: []string{k.meta, k.lease, k.rows, k.rowsOld}, args: []any{nonce, ttl.Milliseconds(), p}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redis: activate %s: %w", shard, err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redis: activate %s: unexpected reply %v", shard, res)
	}
	return joinEpoch(uint64(res[0]), nonce), time.Duration(res[1]) * time.Millisecond, nil
}

// RenewLease sets the shard's lease to epoch for ttl, if epoch is still the
// shard's (else *FencedError).
func (c *Client) RenewLease(ctx context.Context, shard string, epoch uint64, ttl time.Duration) error {
	if c.closed.Load() {
		return ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return err
	}
	ctr, nonce := splitEpoch(epoch)
	cl := &call{script: c.scr.renewLease, keys: []string{k.meta, k.lease}, args: []any{ctr, nonce, ttl.Milliseconds()}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Int64Slice()
	if err != nil {
		return fmt.Errorf("redis: renew lease %s: %w", shard, err)
	}
	if len(res) != 3 {
		return fmt.Errorf("redis: renew lease %s: unexpected reply %v", shard, res)
	}
	if res[0] == 1 {
		c.met.fenced.Add(1)
		return &FencedError{Shard: shard, Epoch: epoch, Stored: joinEpoch(uint64(res[1]), uint64(res[2]))}
	}
	return nil
}

// ReleaseLease drops the shard's lease if epoch holds it; it reports whether it did.
func (c *Client) ReleaseLease(ctx context.Context, shard string, epoch uint64) (bool, error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return false, err
	}
	cl := &call{script: c.scr.release, keys: []string{k.lease}, args: []any{leaseValue(epoch)}, group: shard}
	c.run(ctx, []*call{cl})
	n, err := cl.cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("redis: release lease %s: %w", shard, err)
	}
	return n == 1, nil
}
