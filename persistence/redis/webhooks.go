package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Webhook registrations and delivery records, shared by every node of a
// fleet (actors/pipeline.Webhooks with Shared set). Every key is under the
// one hash tag {boxoffice:webhooks}, so each script touches a single Redis
// Cluster slot and a delivery record is written only while its webhook is
// registered (checked in the same script):
//
//	{boxoffice:webhooks}:reg     hash: webhook id -> registration (JSON, with its secret)
//	{boxoffice:webhooks}:ver     string: random token, changed by every registration change
//	{boxoffice:webhooks}:d:ID    hash: delivery id -> delivery record (JSON)
//	{boxoffice:webhooks}:t:ID    zset: delivery id -> created (Unix ms), to trim the records
const (
	whTag     = "{boxoffice:webhooks}"
	whRegKey  = whTag + ":reg"
	whVerKey  = whTag + ":ver"
	whDelsPre = whTag + ":d:"
	whTimePre = whTag + ":t:"
)

// maxWebhookID is the longest webhook id.
const maxWebhookID = 64

// MaxWebhookDeliveriesKept bounds PutWebhookDelivery's keep: a listing
// returns them all in one reply.
const MaxWebhookDeliveriesKept = 10000

// validWebhookID reports whether s is 1 to 64 of [A-Za-z0-9_-]: no brace
// may break the hash tag, no colon mix key spaces.
func validWebhookID(s string) bool {
	if len(s) == 0 || len(s) > maxWebhookID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func webhookKeys(id string) (dels, times string, err error) {
	if !validWebhookID(id) {
		return "", "", fmt.Errorf("%w: %q", ErrBadWebhookID, id)
	}
	return whDelsPre + id, whTimePre + id, nil
}

// whListLua: KEYS reg ver; ARGV known version. Returns {0, ver} when the
// stored version is known (nothing changed), else {1, ver, {id, json, ...}}.
// ver is "" when no version is stored (none written yet, or Redis lost it).
const whListLua = `
local v = redis.call('GET', KEYS[2]) or ''
if v ~= '' and v == ARGV[1] then return {0, v} end
return {1, v, redis.call('HGETALL', KEYS[1])}
`

// whPutLua: KEYS reg ver; ARGV id json token onlyIfAbsent. Stores a
// registration and changes the version. Returns 1 stored, 0 when
// onlyIfAbsent ('1') and the id exists.
const whPutLua = `
if ARGV[4] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return 1
`

// whDelLua: KEYS reg ver dels times; ARGV id token. Deletes a registration
// and its delivery records and changes the version. Returns 1, or 0 when
// the id was not registered.
const whDelLua = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SET', KEYS[2], ARGV[2])
return 1
`

// whDeliveryLua: KEYS reg dels times; ARGV webhook delivery createdMs json
// keep minCreatedMs. Stores a delivery record if the webhook is registered,
// then drops the records created before minCreatedMs (up to 1000 a call)
// and the oldest beyond keep. Returns 1 stored, 0 not registered.
const whDeliveryLua = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[2])
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6], 'LIMIT', 0, 1000)
if #old > 0 then
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
end
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if over > 0 then
  local gone = redis.call('ZPOPMIN', KEYS[3], over)
  for i = 1, #gone, 2 do redis.call('HDEL', KEYS[2], gone[i]) end
end
return 1
`

// whDeliveriesLua: KEYS reg dels; ARGV webhook. Returns {0} when the
// webhook is not registered, else {1, {json, ...}}.
const whDeliveriesLua = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {0} end
return {1, redis.call('HVALS', KEYS[2])}
`

// newVersion returns a random registration version token.
func newVersion() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WebhookRegistrations returns every webhook registration (id -> the
// caller's JSON) and the registrations' version. When known is the stored
// version, nothing changed: changed is false and regs nil, one small reply.
// A version of "" means none is stored (nothing registered yet, or Redis lost
// it); it never equals a stored one, so the caller reloads.
func (c *Client) WebhookRegistrations(ctx context.Context, known string) (version string, regs map[string][]byte, changed bool, err error) {
	if c.closed.Load() {
		return "", nil, false, ErrClosed
	}
	cl := &call{script: c.scr.whList, keys: []string{whRegKey, whVerKey}, args: []any{known}, group: whTag}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err == nil && (len(res) < 2 || len(res) == 2 && res[0] != int64(0)) {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("redis: webhook registrations: %w", err)
	}
	version, _ = res[1].(string)
	if res[0] == int64(0) {
		return version, nil, false, nil
	}
	flat, _ := res[2].([]any)
	regs = make(map[string][]byte, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		id, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		regs[id] = []byte(val)
	}
	return version, regs, true, nil
}

// PutWebhook stores a webhook registration (the caller's JSON, secret
// included) and changes the version. With onlyIfAbsent an existing id is
// left alone and stored is false.
func (c *Client) PutWebhook(ctx context.Context, id string, reg []byte, onlyIfAbsent bool) (stored bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	if !validWebhookID(id) {
		return false, fmt.Errorf("%w: %q", ErrBadWebhookID, id)
	}
	nx := "0"
	if onlyIfAbsent {
		nx = "1"
	}
	cl := &call{script: c.scr.whPut, keys: []string{whRegKey, whVerKey}, args: []any{id, reg, newVersion(), nx}, group: whTag}
	c.run(ctx, []*call{cl})
	n, err := cl.cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("redis: put webhook %s: %w", id, err)
	}
	return n == 1, nil
}

// DeleteWebhook deletes a registration with its delivery records and
// reports whether it existed.
func (c *Client) DeleteWebhook(ctx context.Context, id string) (existed bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	dels, times, err := webhookKeys(id)
	if err != nil {
		return false, err
	}
	cl := &call{script: c.scr.whDel, keys: []string{whRegKey, whVerKey, dels, times}, args: []any{id, newVersion()}, group: whTag}
	c.run(ctx, []*call{cl})
	n, err := cl.cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("redis: delete webhook %s: %w", id, err)
	}
	return n == 1, nil
}

// PutWebhookDelivery stores (or replaces) one delivery record of a webhook,
// created at createdMs (Unix ms), if the webhook is registered (registered
// false otherwise: nothing is stored). The webhook keeps at most keep
// records (1 to MaxWebhookDeliveriesKept; the oldest by creation go first)
// and none created before minCreatedMs.
func (c *Client) PutWebhookDelivery(ctx context.Context, webhook, delivery string, createdMs int64, rec []byte, keep int, minCreatedMs int64) (registered bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	dels, times, err := webhookKeys(webhook)
	if err != nil {
		return false, err
	}
	if keep < 1 || keep > MaxWebhookDeliveriesKept || delivery == "" {
		return false, fmt.Errorf("redis: put webhook delivery: keep %d outside 1..%d or no delivery id", keep, MaxWebhookDeliveriesKept)
	}
	cl := &call{script: c.scr.whDelivery, keys: []string{whRegKey, dels, times},
		args: []any{webhook, delivery, strconv.FormatInt(createdMs, 10), rec, strconv.Itoa(keep), strconv.FormatInt(minCreatedMs, 10)}, group: whTag}
	c.run(ctx, []*call{cl})
	n, err := cl.cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("redis: put webhook delivery %s/%s: %w", webhook, delivery, err)
	}
	return n == 1, nil
}

// WebhookDeliveries returns a webhook's delivery records, in no order, and
// whether the webhook is registered.
func (c *Client) WebhookDeliveries(ctx context.Context, webhook string) (registered bool, recs [][]byte, err error) {
	if c.closed.Load() {
		return false, nil, ErrClosed
	}
	dels, _, err := webhookKeys(webhook)
	if err != nil {
		return false, nil, err
	}
	cl := &call{script: c.scr.whDeliveries, keys: []string{whRegKey, dels}, args: []any{webhook}, group: whTag}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err == nil && (len(res) == 0 || res[0] == int64(1) && len(res) != 2) {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return false, nil, fmt.Errorf("redis: webhook deliveries %s: %w", webhook, err)
	}
	if res[0] != int64(1) {
		return false, nil, nil
	}
	vals, _ := res[1].([]any)
	recs = make([][]byte, 0, len(vals))
	for _, v := range vals {
		s, _ := v.(string)
		recs = append(recs, []byte(s))
	}
	return true, recs, nil
}
