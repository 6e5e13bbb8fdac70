package redis

import (
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// The scripts. Every script touches only its KEYS, which share one hash
// tag. Numbers are stored as canonical decimal strings; Lua never formats a
// number with tostring (Lua 5.1 rounds past 14 digits).

// activateLua: KEYS meta rows rowsOld; ARGV nonce. Increments the shard's
// epoch counter and records the activation's random nonce; moves the rows
// hash of the layout before buckets aside (see bucketsLua). Returns the new
// counter.
var activateLua = `
local c = redis.call('HINCRBY', KEYS[1], 'ctr', 1)
redis.call('HSET', KEYS[1], 'nonce', ARGV[1])
` + bucketsLua(2, 3) + `
return c
`

// bucketsLua is the step of an activation's script that leaves the shard's
// rows key (KEYS[rows]) a string, with a hash of the layout before buckets
// moved to KEYS[old] (rows:old, where reads and writes of rows find it): a
// version before buckets then fails on the shard (WRONGTYPE on its HLEN and
// HSET of the rows key) instead of reading a state without the rows in
// buckets, as it would during a rolling upgrade.
func bucketsLua(rows, old int) string {
	return fmt.Sprintf(`
local rt = redis.call('TYPE', KEYS[%[1]d]).ok
if rt == 'hash' then redis.call('RENAME', KEYS[%[1]d], KEYS[%[2]d]) end
if rt ~= 'string' then redis.call('SET', KEYS[%[1]d], 'rows in buckets rows:00-31') end`, rows, old)
}

// activateLeaseLua: KEYS meta lease rows rowsOld; ARGV nonce ttlMs prev.
// Takes the next epoch like activateLua (fencing every older activation's
// writes and lease renewals at once; the rows key as bucketsLua). The lease
// ("ctr:nonce", PX ttl) is taken too when it is free, expired, or held by
// prev (the caller's own previous activation); otherwise it is left to run
// out and the reply says how long it has left. Returns {ctr, waitMs}.
var activateLeaseLua = `
local c = redis.call('HINCRBY', KEYS[1], 'ctr', 1)
redis.call('HSET', KEYS[1], 'nonce', ARGV[1])
` + bucketsLua(3, 4) + `
local cur = redis.call('GET', KEYS[2])
local wait = 0
if cur and cur ~= ARGV[3] then
  wait = redis.call('PTTL', KEYS[2])
  if wait < 0 then wait = 0 end
end
if wait == 0 then redis.call('SET', KEYS[2], string.format('%d', c) .. ':' .. ARGV[1], 'PX', ARGV[2]) end
return {c, wait}
`

// renewLeaseLua: KEYS meta lease; ARGV ctr nonce ttlMs. Sets the lease to
// "ctr:nonce" for ttlMs if (ctr, nonce) is still the shard's epoch. Returns
// {0, 0, 0}, or {1, storedCtr, storedNonce} when fenced.
const renewLeaseLua = `
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce')
if m[1] ~= ARGV[1] or m[2] ~= ARGV[2] then return {1, tonumber(m[1] or 0), tonumber(m[2] or 0)} end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return {0, 0, 0}
`

// releaseLeaseLua: KEYS lease; ARGV "ctr:nonce". Deletes the lease if that
// activation holds it. Returns 1 if it did.
const releaseLeaseLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`

// applyLua: KEYS meta snap log counts archive lease rowsOld (the rows of
// the layout before buckets), then the rowBuckets row buckets; ARGV ctr
// nonce first n kind snapSeq snap nCounts last nArchive nRows rowsSeq, then
// n entries, then nCounts field/value pairs, then nArchive order id/value
// pairs, then nRows state rows as bucket/key/value triples (bucket 0-based;
// an empty value deletes the row; a row is also deleted from rowsOld while
// that exists), then EventsSeq (stored as evseq when above the stored one,
// once every check passed), then the lease TTL in ms ('0': leave the
// lease alone; else, once the epoch check passed, the lease is set to
// "ctr:nonce" for that long). kind is '1' with a snapshot, '2' for a
// continuation (a later call
// of a split checkpoint), '0' otherwise; last is first+n-1 (for a
// continuation without entries: the seq the calls before it reached, 0 if
// none); rowsSeq > 0 says the rows bring the state rows to that seq. Numbers
// are canonical decimal strings, so stored values are compared and copied as
// strings, not formatted in Lua. The stored seq is snapseq + LLEN(log), so
// the common call (entries of the activation that wrote last, no snapshot,
// no counts, no archive, no rows) makes a single write: the RPUSH. Returns
// {0, seq, snapseq} applied, {1, storedCtr, storedNonce} fenced, {2, seq,
// snapseq, wctr, wnonce} gap (nothing written; w* the last writer), {3, seq,
// snapseq} rows refused: the stored state is a whole snapshot (seed rows
// first).
//
// The snapshot (at snapSeq) comes before the entries (the client drops
// entries <= snapSeq: the snapshot covers them). Everything is checked before
// anything is written:
//   - the epoch (ctr, nonce) must be the stored one;
//   - a snapshot newer than the stored seq replaces everything (catch-up); one
//     at or after the stored snapshot replaces it and trims the journal; an
//     older one is ignored; a snapshot replaces the state rows;
//   - the entries must start at or before seq+1 (after the snapshot); entries
//     at or before seq are allowed only from the activation that last wrote
//     (a retry) and are skipped;
//   - a continuation is applied only if its activation last wrote and, when
//     it has no entries, the stored seq reached last, i.e. the calls before
//     it were applied (they are refused alike otherwise);
//   - rows need rowsSeq between snapseq and the seq after the entries, and
//     no stored snapshot; they are applied after the entries, then the log
//     is trimmed to the entries after rowsSeq and snapseq becomes rowsSeq
//     (the state is the rows at snapseq plus the log).
//
// The archive pairs are HSET into the archive hash once all checks passed.
const applyLua = `
local logk = KEYS[3]
local nb = #KEYS - 7
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce', 'snapseq', 'wctr', 'wnonce', 'countsseq', 'evseq')
if m[1] ~= ARGV[1] or m[2] ~= ARGV[2] then return {1, tonumber(m[1] or 0), tonumber(m[2] or 0)} end
local lt = ARGV[#ARGV]
if lt ~= '0' then redis.call('SET', KEYS[6], ARGV[1] .. ':' .. ARGV[2], 'PX', lt) end
local base = tonumber(m[3] or 0)
local seq = base + redis.call('LLEN', logk)
local same = m[4] == ARGV[1] and m[5] == ARGV[2]
local first, n, kind = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local nr, rseq = tonumber(ARGV[11]), tonumber(ARGV[12])
local gap = {2, seq, base, tonumber(m[4] or 0), tonumber(m[5] or 0)}
if kind == '2' and (not same or (n == 0 and tonumber(ARGV[9]) > seq)) then return gap end
local snap, after, pseq = 0, seq, 0
if kind == '1' then
  pseq = tonumber(ARGV[6])
  if pseq > seq then snap, after = 1, pseq elseif pseq >= base then snap = 2 end
end
if n > 0 and (first > after + 1 or (first <= after and not same)) then return gap end
local last = first + n - 1
if nr > 0 or rseq > 0 then
  local top = after
  if n > 0 and last > top then top = last end
  if rseq < base or rseq > top then return gap end
  if snap == 0 and redis.call('EXISTS', KEYS[2]) == 1 then return {3, seq, base} end
end
local h = {}
if snap == 1 then
  redis.call('SET', KEYS[2], ARGV[7])
  redis.call('DEL', logk, unpack(KEYS, 7, 7 + nb))
  seq, base = pseq, pseq
  h = {'snapseq', ARGV[6]}
elseif snap == 2 then
  redis.call('SET', KEYS[2], ARGV[7])
  redis.call('DEL', unpack(KEYS, 7, 7 + nb))
  if pseq > base then redis.call('LTRIM', logk, string.format('%d', pseq - base), '-1') end
  base = pseq
  h = {'snapseq', ARGV[6]}
end
if n > 0 and last > seq then
  local i, j = 13 + (seq + 1 - first), 12 + n
  while i <= j do
    local k = math.min(i + 999, j)
    redis.call('RPUSH', logk, unpack(ARGV, i, k))
    i = k + 1
  end
  seq = last
end
if not same then
  h[#h + 1] = 'wctr'
  h[#h + 1] = ARGV[1]
  h[#h + 1] = 'wnonce'
  h[#h + 1] = ARGV[2]
end
-- counts are as of this checkpoint's position; a late retry of an older
-- checkpoint must not bring back older counts
local nc, at, ats = tonumber(ARGV[8]), seq, nil
if n > 0 then at, ats = last, ARGV[9] elseif kind == '1' then at, ats = pseq, ARGV[6] end
if nc > 0 and at >= tonumber(m[6] or 0) then
  local i, j = 13 + n, 12 + n + 2 * nc
  while i <= j do
    local k = math.min(i + 999, j)
    redis.call('HSET', KEYS[4], unpack(ARGV, i, k))
    i = k + 1
  end
  h[#h + 1] = 'countsseq'
  h[#h + 1] = ats or string.format('%d', at)
end
local na = tonumber(ARGV[10])
if na > 0 then
  local i, j = 13 + n + 2 * nc, 12 + n + 2 * nc + 2 * na
  while i <= j do
    local k = math.min(i + 999, j)
    redis.call('HSET', KEYS[5], unpack(ARGV, i, k))
    i = k + 1
  end
end
if nr > 0 or rseq > 0 then
  local i = 13 + n + 2 * nc + 2 * na
  local legacy = redis.call('EXISTS', KEYS[7]) == 1
  for r = 1, nr do
    local bk, key, v = KEYS[8 + tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
    if legacy then redis.call('HDEL', KEYS[7], key) end
    if v == '' then redis.call('HDEL', bk, key) else redis.call('HSET', bk, key, v) end
    i = i + 3
  end
  if rseq > base then
    redis.call('LTRIM', logk, string.format('%d', rseq - base), '-1')
    base = rseq
    h[#h + 1] = 'snapseq'
    h[#h + 1] = ARGV[12]
  end
end
local ev = ARGV[#ARGV - 1]
if tonumber(ev) > tonumber(m[7] or 0) then
  h[#h + 1] = 'evseq'
  h[#h + 1] = ev
end
if #h > 0 then redis.call('HSET', KEYS[1], unpack(h)) end
return {0, seq, base}
`

// seedPartLua: KEYS meta stage (the layout before buckets), then the
// rowBuckets stage buckets; ARGV ctr nonce fresh, then rows as
// bucket/key/value triples (bucket 0-based; a bucket's rows one after
// another: they go by one HSET). Stages rows of a whole state (see seedLua)
// under the epoch check: fresh '1' empties the stage first. Returns {0} or
// {1, storedCtr, storedNonce} fenced.
const seedPartLua = `
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce')
if m[1] ~= ARGV[1] or m[2] ~= ARGV[2] then return {1, tonumber(m[1] or 0), tonumber(m[2] or 0)} end
if ARGV[3] == '1' then redis.call('DEL', unpack(KEYS, 2, #KEYS)) end
local i, j = 4, #ARGV
while i <= j do
  local b, kv = ARGV[i], {}
  while i <= j and ARGV[i] == b and #kv < 2000 do
    kv[#kv + 1] = ARGV[i + 1]
    kv[#kv + 1] = ARGV[i + 2]
    i = i + 3
  end
  redis.call('HSET', KEYS[3 + tonumber(b)], unpack(kv))
end
return {0}
`

// seedLua: KEYS meta snap log counts rowsOld stage (both of the layout
// before buckets) lease, then the rowBuckets row buckets, then the
// rowBuckets stage buckets; ARGV ctr nonce seq staged nCounts, then nCounts field/value
// pairs, then EventsSeq (stored as evseq when above the stored one), then
// the lease TTL in ms.
// Under the epoch check, replaces the shard's whole state with the staged
// rows (staged '1'; else no rows) at seq: the snapshot and the log go,
// snapseq and the stored seq become seq, the caller becomes the last
// writer. Returns {0, seq, seq} or {1, storedCtr, storedNonce} fenced.
const seedLua = `
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce')
if m[1] ~= ARGV[1] or m[2] ~= ARGV[2] then return {1, tonumber(m[1] or 0), tonumber(m[2] or 0)} end
local lt = ARGV[#ARGV]
if lt ~= '0' then redis.call('SET', KEYS[7], ARGV[1] .. ':' .. ARGV[2], 'PX', lt) end
local nb = (#KEYS - 7) / 2
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], unpack(KEYS, 8, 7 + nb))
if ARGV[4] == '1' then
  for b = 1, nb do
    if redis.call('EXISTS', KEYS[7 + nb + b]) == 1 then redis.call('RENAME', KEYS[7 + nb + b], KEYS[7 + b]) end
  end
end
redis.call('DEL', KEYS[6], unpack(KEYS, 8 + nb, 7 + 2 * nb))
local nc = tonumber(ARGV[5])
local i, j = 6, 5 + 2 * nc
while i <= j do
  local k = math.min(i + 999, j)
  redis.call('HSET', KEYS[4], unpack(ARGV, i, k))
  i = k + 1
end
redis.call('HSET', KEYS[1], 'snapseq', ARGV[3], 'wctr', ARGV[1], 'wnonce', ARGV[2], 'countsseq', ARGV[3])
local ev = ARGV[#ARGV - 1]
if tonumber(ev) > tonumber(redis.call('HGET', KEYS[1], 'evseq') or 0) then redis.call('HSET', KEYS[1], 'evseq', ev) end
return {0, tonumber(ARGV[3]), tonumber(ARGV[3])}
`

// metaLua: KEYS meta snap log. Returns {ctr, nonce, snapseq, LLEN(log),
// EXISTS(snap)}: where a shard is, without its state.
const metaLua = `
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce', 'snapseq')
return {m[1] or '0', m[2] or '0', m[3] or '0', redis.call('LLEN', KEYS[3]), redis.call('EXISTS', KEYS[2])}
`

// loadLua: KEYS meta snap log. Returns {ctr, nonce, snapseq, snapshot or
// nil, {entries...}, wctr, wnonce, evseq} as one consistent read (w*: the
// activation that wrote last).
const loadLua = `
local m = redis.call('HMGET', KEYS[1], 'ctr', 'nonce', 'snapseq', 'wctr', 'wnonce', 'evseq')
local snap = redis.call('GET', KEYS[2])
local log = redis.call('LRANGE', KEYS[3], 0, -1)
return {m[1] or '0', m[2] or '0', m[3] or '0', snap, log, m[4] or '0', m[5] or '0', m[6] or '0'}
`

// countsLua: KEYS meta counts. Returns {countsseq, {field, value, ...}}.
const countsLua = `
local q = redis.call('HGET', KEYS[1], 'countsseq')
return {q or '0', redis.call('HGETALL', KEYS[2])}
`

// hgetLua: KEYS hash; ARGV field. HGET, as a script so that it shares the
// client's health and reload handling.
const hgetLua = `return redis.call('HGET', KEYS[1], ARGV[1])`

// setNXLua: KEYS key; ARGV value. Returns 1 if it set the key, 0 if it
// existed.
const setNXLua = `if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 1 end return 0`

// getLua: KEYS key. GET.
const getLua = `return redis.call('GET', KEYS[1])`

// allowLua: KEYS bucket; ARGV rate(per s) burst nowMs. A token bucket that
// starts full. Returns {1, 0} granted or {0, waitMicros}. A now older than
// the stored time (another node's clock) refills nothing.
const allowLua = `
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, ts = tonumber(v[1]), tonumber(v[2])
if not tokens or not ts then tokens, ts = burst, now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local ok, wait = 0, 0
if tokens >= 1 then
  tokens, ok = tokens - 1, 1
else
  wait = math.ceil((1 - tokens) * 1000000 / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(burst * 1000 / rate) + 1000))
return {ok, wait}
`

// scripts holds the client's scripts; their SHA-1 is computed locally, and
// Open loads them on every master.
type scripts struct {
	activate, apply, load, counts, allow *goredis.Script
	hget, setNX, get                     *goredis.Script
	activateLease, renewLease, release   *goredis.Script
	seedPart, seed, meta                 *goredis.Script
	// webhooks.go
	whList, whPut, whDel, whDelivery, whDeliveries *goredis.Script
}

func newScripts() scripts {
	return scripts{
		activate: goredis.NewScript(activateLua),
		apply:    goredis.NewScript(applyLua),
		load:     goredis.NewScript(loadLua),
		counts:   goredis.NewScript(countsLua),
		allow:    goredis.NewScript(allowLua),
		hget:     goredis.NewScript(hgetLua),
		setNX:    goredis.NewScript(setNXLua),
		get:      goredis.NewScript(getLua),

		activateLease: goredis.NewScript(activateLeaseLua),
		renewLease:    goredis.NewScript(renewLeaseLua),
		release:       goredis.NewScript(releaseLeaseLua),

		whList:       goredis.NewScript(whListLua),
		whPut:        goredis.NewScript(whPutLua),
		whDel:        goredis.NewScript(whDelLua),
		whDelivery:   goredis.NewScript(whDeliveryLua),
		whDeliveries: goredis.NewScript(whDeliveriesLua),
		seedPart:     goredis.NewScript(seedPartLua),
		seed:         goredis.NewScript(seedLua),
		meta:         goredis.NewScript(metaLua),
	}
}

func (s scripts) all() []*goredis.Script {
	return []*goredis.Script{s.activate, s.apply, s.load, s.counts, s.allow, s.hget, s.setNX, s.get,
		s.activateLease, s.renewLease, s.release, s.seedPart, s.seed, s.meta,
		s.whList, s.whPut, s.whDel, s.whDelivery, s.whDeliveries}
}
