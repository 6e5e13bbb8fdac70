package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"
)

// State is a shard as stored in Redis: its state at SnapshotSeq (a whole
// Snapshot, of the format before rows, or else its state Rows), and the
// entries after it.
type State struct {
	Epoch       uint64 // the current epoch (0: never activated)
	Seq         uint64 // the newest stored seq (0: nothing stored)
	Snapshot    []byte // nil if none
	SnapshotSeq uint64
	Entries     []Entry // SnapshotSeq+1 .. Seq, in order
	// Writer is the epoch of the activation whose checkpoint Redis
	// accepted last (0: none yet).
	Writer uint64
	// EventsSeq is the highest Checkpoint.EventsSeq accepted: the events
	// of the records up to it are in their writers' outboxes.
	EventsSeq uint64
	// Rows are the state rows at SnapshotSeq (when there is no Snapshot).
	Rows []Row
	// HasSnapshot: a whole snapshot is stored (LoadMeta leaves Snapshot nil).
	HasSnapshot bool
}

// rowsScanCount is how many rows one HSCAN asks for (a variable for tests).
var rowsScanCount int64 = 32768

// Load reads a shard's epoch, seq, snapshot and the entries after it in one
// script, then its state rows (HSCAN, in chunks, so Redis is never blocked
// for the whole of a big show), and checks that nothing was written
// meanwhile (else it reads again, at most three times). A shard Redis never
// saw loads as the zero State.
func (c *Client) Load(ctx context.Context, shard string) (State, error) {
	return c.load(ctx, shard, true)
}

// LoadLog is Load without the state rows: epoch, seqs, a whole snapshot if
// stored, and the entries after it (what a node that has the rows needs).
func (c *Client) LoadLog(ctx context.Context, shard string) (State, error) {
	return c.load(ctx, shard, false)
}

func (c *Client) load(ctx context.Context, shard string, withRows bool) (State, error) {
	for try := 0; ; try++ {
		st, err := c.loadOnce(ctx, shard, withRows, nil, nil)
		if !errors.Is(err, ErrChangedWhileRead) || try == 2 {
			return st, err
		}
	}
}

// LoadRows is Load that also hands every state row to row as it is read,
// so that the caller builds the show while the rest is still on its way:
// the rows named in first (read with one HMGET) before the others (HSCAN,
// in no order). The key and value are those of the State's Rows: not
// reused, not to be changed. If the rows given are of no one state — the
// shard was written to while read (a new seq or epoch after the scan, a
// repeat with another value), or the scan returned rows twice (the hash was
// being rehashed: the rows are counted, not indexed; see scanRows) —
// LoadRows returns ErrChangedWhileRead and the caller starts again with a
// new builder. A nil error means every row was given once. The State also
// holds every row read.
func (c *Client) LoadRows(ctx context.Context, shard string, first []string, row func(key string, value []byte) error) (State, error) {
	return c.loadOnce(ctx, shard, true, first, row)
}

// loadOnce reads a shard once: its log in one script, its rows (withRows),
// and then checks that nothing was written meanwhile.
func (c *Client) loadOnce(ctx context.Context, shard string, withRows bool, first []string, fn func(string, []byte) error) (State, error) {
	if c.closed.Load() {
		return State{}, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return State{}, err
	}
	cl := &call{script: c.scr.load, keys: []string{k.meta, k.snap, k.log}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err != nil {
		return State{}, fmt.Errorf("redis: load %s: %w", shard, err)
	}
	st, err := parseState(shard, res)
	if err != nil || st.Snapshot != nil || !withRows {
		return st, err
	}
	if st.Rows, err = c.scanRows(ctx, k, first, fn); err != nil {
		return State{}, fmt.Errorf("redis: load %s rows: %w", shard, err)
	}
	now, err := c.LoadMeta(ctx, shard)
	if err != nil {
		return State{}, err
	}
	if now.Epoch != st.Epoch || now.Seq != st.Seq || now.SnapshotSeq != st.SnapshotSeq || now.HasSnapshot {
		return State{}, fmt.Errorf("%w: %s", ErrChangedWhileRead, shard)
	}
	return st, nil
}

// scanRows reads a shard's state rows: the fields named in first (HMGET of
// the hashes of the layout before buckets, HGET of their buckets), then the
// rows of those hashes, if they hold any, in chunks (HSCAN): rowsOld, and
// the rows key while it is a hash (no activation of this version since),
// then the rowBuckets buckets whole (HGETALL, readBuckets), handing each
// distinct row to fn (when not nil) as it comes. A row is in one of them:
// every write of a row deletes it from rowsOld.
//
// A chunk whose round trip timed out (a loaded machine: the client's
// ReadTimeout bounds each reply) is asked for again from the same cursor,
// a quarter of the rows at a time (back to full chunks as they come), up to
// scanRetries times: the rows read so far are kept, the read does not start
// from zero.
//
// HSCAN returns a row more than once only while the hash is rehashed (it
// grew or shrank shortly before, or meanwhile). With fn, the rows are not
// indexed to drop such repeats (the index cost about a tenth of a
// recovery's time: bench/README.md, "Recovery from Redis alone, sixth
// round"): they are counted, and a read that returned more rows than the
// hashes held (HLEN before it) answers ErrChangedWhileRead, having handed
// repeats to fn; the caller reads again, and this client indexes its scans
// for dedupeHold after that. This is exact because nothing writes the hashes
// during a caller's read (its activation holds the epoch; a write of
// another would move the seq and fail the read anyway): HSCAN returns every
// row present from start to end at least once, HGETALL every row once, so
// n rows returned of n held is each once.
func (c *Client) scanRows(ctx context.Context, k shardKeys, first []string, fn func(string, []byte) error) ([]Row, error) {
	if !c.healthy.Load() {
		return nil, ErrUnavailable
	}
	fail := func(err error) ([]Row, error) {
		if isNetworkError(err) {
			c.reportDown(err)
		}
		return nil, err
	}
	set := rowSet{counted: fn != nil && time.Now().UnixNano() >= c.dedupeUntil.Load()}
	buckets := k.bucketKeys("rows")
	p := c.rdb.Pipeline()
	rowsType := p.Type(ctx, k.rows)
	oldLen := p.HLen(ctx, k.rowsOld)
	lens := make([]*goredis.IntCmd, len(buckets))
	for b, key := range buckets {
		lens[b] = p.HLen(ctx, key)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fail(err)
	}
	legacy := []string{k.rowsOld}
	legacyLens := []int64{oldLen.Val()}
	if rowsType.Val() == "hash" {
		n, err := c.rdb.HLen(ctx, k.rows).Result()
		if err != nil {
			return fail(err)
		}
		legacy, legacyLens = append(legacy, k.rows), append(legacyLens, n)
	}
	var n int64
	for _, l := range legacyLens {
		n += l
	}
	for _, l := range lens {
		n += l.Val()
	}
	set.reserve(int(n))
	if hook := firstReadHook; hook != nil {
		hook()
	}
	if len(first) > 0 {
		if err, ofRedis := c.readFirst(ctx, legacy, buckets, first, &set, fn); err != nil {
			if ofRedis {
				return fail(err)
			}
			return nil, err
		}
	}
	for i, key := range legacy {
		if legacyLens[i] > 0 {
			if _, err := c.scanChunks(ctx, key, &set, legacyLens[i], fn, fail); err != nil {
				return nil, err
			}
		}
	}
	if err, ofRedis := c.readBuckets(ctx, buckets, lens, &set, fn); err != nil {
		if ofRedis {
			return fail(err)
		}
		return nil, err
	}
	rows := set.rows
	if set.counted && int64(len(rows)) != n {
		c.met.scanRepeats.Add(1)
		if int64(len(rows)) > n {
			c.dedupeUntil.Store(time.Now().Add(dedupeHold).UnixNano())
		}
		return nil, fmt.Errorf("%w: the read returned %d rows of hashes of %d (repeats while one was rehashed, or writes)",
			ErrChangedWhileRead, len(rows), n)
	}
	return rows, nil
}

// firstReadHook, when set (tests), runs before the rows named first are read.
var firstReadHook func()

// readFirst reads the rows named in first, where each may be: a hash of the
// layout before buckets (legacy), or its bucket. Its error is Redis's
// (ofRedis) or the set's.
func (c *Client) readFirst(ctx context.Context, legacy []string, buckets []string, first []string, set *rowSet, fn func(string, []byte) error) (err error, ofRedis bool) {
	p := c.rdb.Pipeline()
	olds := make([]*goredis.SliceCmd, len(legacy))
	for i, key := range legacy {
		olds[i] = p.HMGet(ctx, key, first...)
	}
	now := make([]*goredis.StringCmd, len(first))
	for i, f := range first {
		now[i] = p.HGet(ctx, buckets[rowBucket(f)], f)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return err, true
	}
	for i, f := range first {
		v, err := now[i].Result()
		if errors.Is(err, goredis.Nil) {
			found := false
			for _, old := range olds {
				if s, ok := old.Val()[i].(string); ok {
					v, err, found = s, nil, true
				}
			}
			if !found {
				continue
			}
		}
		if err != nil {
			return err, true
		}
		if err := set.add(f, stringBytes(v), fn); err != nil {
			return err, false
		}
		set.first = append(set.first, f)
	}
	return nil, false
}

// bucketReaders is how many buckets are read at once, so that Redis
// prepares one while this process takes in another.
const bucketReaders = 4

// bucketGetAllMax is the most rows of a bucket read whole (HGETALL blocks
// Redis for the whole bucket: ~0.4 µs a row); a bigger one (a show of over
// 4,000,000 rows) is scanned in chunks. A variable for tests.
var bucketGetAllMax int64 = 131072

// readBuckets reads the row buckets (lens: their HLEN), bucketReaders at a
// time, handing each bucket's rows to set (and fn) in turn. A bucket whose
// HGETALL timed out, or is big, is read by HSCAN in chunks. Its error is
// Redis's (ofRedis) or the set's.
func (c *Client) readBuckets(ctx context.Context, buckets []string, lens []*goredis.IntCmd, set *rowSet, fn func(string, []byte) error) (err error, ofRedis bool) {
	return readAtOnce(ctx, bucketReaders, set, fn, func(ctx context.Context, r int, take func([]string) error) (error, bool) {
		for b := r; b < len(buckets); b += bucketReaders {
			if lens[b].Val() == 0 {
				continue
			}
			if err, ofRedis := c.readBucket(ctx, buckets[b], lens[b].Val(), take); err != nil {
				return err, ofRedis
			}
		}
		return nil, false
	})
}

// readAtOnce runs read on n goroutines (i: 0 to n-1), each handing rows to
// take, which adds them to set (and fn) one chunk at a time, in turn; the
// first error (Redis's: ofRedis, or the set's) cancels the others' context
// and is returned.
func readAtOnce(ctx context.Context, n int, set *rowSet, fn func(string, []byte) error,
	read func(ctx context.Context, i int, take func(kv []string) error) (err error, ofRedis bool)) (err error, ofRedis bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // protects set, and fn's calls
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		redisErr bool
	)
	take := func(kv []string) error {
		mu.Lock()
		defer mu.Unlock()
		return set.addChunk(kv, fn)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err, ofRedis := read(ctx, i, take); err != nil {
				errOnce.Do(func() { firstErr, redisErr = err, ofRedis })
				cancel()
			}
		}()
	}
	wg.Wait()
	return firstErr, redisErr
}

// readBucket reads one bucket of n rows into take.
func (c *Client) readBucket(ctx context.Context, key string, n int64, take func(kv []string) error) (err error, ofRedis bool) {
	if n <= bucketGetAllMax {
		kv, err := c.rdb.Do(ctx, "HGETALL", key).StringSlice() // field, value, ... (RESP2: see resp)
		switch {
		case err == nil:
			c.met.bucketsRead.Add(1)
			return take(kv), false
		case !isTimeout(err) || ctx.Err() != nil:
			return err, true
		}
		c.met.scanRetries.Add(1)
		c.log.Warn("redis: a bucket of rows timed out; reading it in chunks", "key", key, "rows", n, "err", err)
	}
	return c.scanPart(ctx, key, 0, 1, rowsScanCount, take, nil)
}

// dedupeHold is how long a client indexes its scans of rows (dropping
// repeats) after a counted scan returned repeats: the hash's rehash, which
// Redis finishes within about a second, is then over.
const dedupeHold = 10 * time.Second

// scanChunks is scanRows's HSCAN loop: every chunk's rows into set; an
// error of Redis's goes through fail, fn's is returned as it is. A counted
// scan of a hash of scanPartsMin rows or more runs as scanParts scans of
// parts of it at once (scanPart), so that Redis prepares one part's chunk
// while this process takes in another's: one cursor's chunks alternate
// Redis's work and the client's, each idle while the other runs (the HSCAN
// of 1,000,000 rows: bench/README.md, "Recovery from Redis alone, seventh
// round"). Their rows reach set and fn one chunk at a time, in turn.
func (c *Client) scanChunks(ctx context.Context, key string, set *rowSet, n int64, fn func(string, []byte) error,
	fail func(error) ([]Row, error)) ([]Row, error) {
	parts, count := uint64(1), rowsScanCount
	if set.counted && n >= scanPartsMin {
		parts = scanParts
		count = min(rowsScanCount, max(n/(8*scanParts), 1024)) // 8 chunks a part or more
		c.met.scanParted.Add(1)
	}
	ends := make([]partEnds, parts)
	firstErr, redisErr := readAtOnce(ctx, int(parts), set, fn, func(ctx context.Context, p int, take func([]string) error) (error, bool) {
		return c.scanPart(ctx, key, uint64(p), parts, count, take, &ends[p])
	})
	if firstErr == nil {
		firstErr = joinParts(ends, func(kv []string) error { return set.addChunk(kv, fn) })
	}
	if firstErr != nil {
		if redisErr {
			return fail(firstErr)
		}
		return nil, firstErr
	}
	return set.rows, nil
}

// Parts of a scan of rows.
const (
	// scanParts is how many parts of a big hash are scanned at once (a
	// power of 2).
	scanParts = 4
)

// scanPartsMin is the least rows of a hash scanned in parts (a variable
// for tests): a small hash is a listpack, whose HSCAN answers all of it to
// any cursor, and the parts' bits of a cursor need a table of at least
// scanParts buckets.
var scanPartsMin int64 = 65536

// partEnds is what a part of a scan held back: the chunk it began with
// (parts after the first) and the one that crossed into the next part
// (parts before the last; nil when that was the first chunk too).
type partEnds struct {
	head, tail []string
}

// scanPart is the HSCAN loop of part p of parts (a power of 2) of a hash,
// handing every chunk to take but the ones at its ends (into ends, for
// joinParts). Redis's HSCAN walks the buckets in the order of their index's
// bits reversed (so that a resize neither skips nor repeats a range),
// whatever the table's size: the cursor's low bits are the walk's top
// bits, and the cursors whose low log2(parts) bits, reversed, are p are the
// p-th part of the walk, in every size of the table. Part p starts at the
// first cursor of its part and ends when the cursor leaves it (or wraps to
// 0: the last part). Every row present from start to end is in some part's
// walk at least once, as in one whole scan; the caller counts.
//
// One HSCAN takes buckets until it has count rows, so the chunk that
// crosses out of a part holds rows of the next part's first buckets: the
// same rows (and no others of that part) as the next part's first chunk
// holds, which took at least as many rows from those buckets on. Hence the
// ends are held back for joinParts. Its error is Redis's (ofRedis) or
// take's.
//
// A chunk whose round trip timed out (a loaded machine: the client's
// ReadTimeout bounds each reply) is asked for again from the same cursor, a
// quarter of the rows at a time (back to full chunks as they come), up to
// scanRetries times.
func (c *Client) scanPart(ctx context.Context, key string, p, parts uint64, full int64, take func(kv []string) error, ends *partEnds) (err error, ofRedis bool) {
	mask := parts - 1
	cursor := reverseLow(p, parts)
	own := cursor
	count, retries := full, 0
	for chunk := 0; ; chunk++ {
		kv, next, err := c.rdb.HScan(ctx, key, cursor, "", count).Result()
		if hook := scanChunkHook; hook != nil && err == nil {
			kv = hook(kv)
		}
		if err != nil && isTimeout(err) && ctx.Err() == nil && retries < scanRetries {
			retries++
			count = max(count/4, 256)
			c.met.scanRetries.Add(1)
			c.log.Warn("redis: a chunk of rows timed out; asking again from the same cursor", "key", key,
				"part", p, "count", count, "err", err)
			chunk--
			continue
		}
		if err != nil {
			return err, true
		}
		cursor = next
		done := cursor == 0 || cursor&mask != own
		switch {
		case chunk == 0 && p > 0:
			ends.head = kv
		case done && p < parts-1:
			ends.tail = kv
		default:
			if err := take(kv); err != nil {
				return err, false
			}
		}
		if done {
			return nil, false
		}
		count = min(2*count, full) // back to full chunks after a retry
	}
}

// joinParts hands the held-back ends of the parts to take: each part's
// last chunk without the rows that the next part's first chunk has (see
// scanPart), then that first chunk. A part whose only chunk crossed into
// the next one is taken whole: any repeat it brings makes the count exceed
// the hash's length, and the caller reads again.
func joinParts(ends []partEnds, take func(kv []string) error) error {
	for p := range ends {
		if p > 0 && ends[p].head != nil {
			if err := take(ends[p].head); err != nil {
				return err
			}
		}
		tail := ends[p].tail
		if tail == nil || p+1 == len(ends) {
			continue
		}
		next := ends[p+1].head
		seen := make(map[string]struct{}, len(next)/2)
		for i := 0; i+1 < len(next); i += 2 {
			seen[next[i]] = struct{}{}
		}
		kept := make([]string, 0, len(tail))
		for i := 0; i+1 < len(tail); i += 2 {
			if _, ok := seen[tail[i]]; !ok {
				kept = append(kept, tail[i], tail[i+1])
			}
		}
		if err := take(kept); err != nil {
			return err
		}
	}
	return nil
}

// reverseLow is the low log2(parts) bits of p reversed (parts a power of 2).
func reverseLow(p, parts uint64) uint64 {
	b := bits.TrailingZeros64(parts)
	if b == 0 {
		return 0
	}
	return bits.Reverse64(p) >> (64 - b)
}

// scanChunkHook, when set (tests), changes every chunk HSCAN returned
// (field, value, field, value...) before its rows are taken.
var scanChunkHook func(kv []string) []string

// scanRetries is how many timed-out chunks one read of a rows hash asks for
// again (each from its cursor).
const scanRetries = 4

// stringBytes is s as a byte slice without a copy: the reply's strings are
// the client's own and never changed, and nor may the slice be.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// rowSet collects the rows of a scan, each once: HSCAN may return a row
// twice (the hash was resized, or is being rehashed, during the scan). It
// indexes the rows in an open-addressing table (8 bytes a slot: the row's
// position and 32 bits of its key's hash, so that a probe compares keys
// only when those match) rather than a map of their keys (about 56 bytes an
// entry at a million rows), at most half full.
//
// A counted set (scanRows with a callback) indexes nothing: it keeps every
// row, drops only HSCAN's repeats of the rows read first (by HMGET), and its
// caller compares the count with the hash's length.
type rowSet struct {
	rows  []Row
	slots []uint64 // hash<<32 | position in rows + 1; 0 = free
	seed  maphash.Seed
	// counted: no index (see above)
	counted bool
	first   []string // counted: the rows read first, which HSCAN returns again
}

// reserve makes room for n rows (the hash's length before the scan).
func (s *rowSet) reserve(n int) {
	if n > cap(s.rows) {
		s.rows = slices.Grow(s.rows, n+n/16)
	}
	if s.counted {
		return
	}
	if size := 16; 2*n > len(s.slots) {
		for size < 2*n {
			size *= 2
		}
		s.index(size)
	}
}

// add keeps a row not seen yet and hands it to fn (when not nil). A repeat
// with the same value is dropped; with another value, the hash was written
// to during the scan: ErrChangedWhileRead.
func (s *rowSet) add(key string, value []byte, fn func(string, []byte) error) error {
	if s.counted {
		if slices.Contains(s.first, key) {
			return nil // read first; nothing writes meanwhile: the same value
		}
		s.rows = append(s.rows, Row{Key: key, Value: value})
		return fn(key, value)
	}
	if 2*(len(s.rows)+1) > len(s.slots) {
		s.index(max(16, 2*len(s.slots)))
	}
	mask := uint64(len(s.slots) - 1)
	h := maphash.String(s.seed, key)
	tag := h &^ 0xffffffff
	i := h & mask
	for {
		e := s.slots[i]
		if e == 0 {
			break
		}
		if e&^0xffffffff == tag {
			if r := s.rows[e&0xffffffff-1]; r.Key == key {
				if bytes.Equal(r.Value, value) {
					return nil
				}
				return fmt.Errorf("%w: row %q read twice with different values", ErrChangedWhileRead, key)
			}
		}
		i = (i + 1) & mask
	}
	s.slots[i] = tag | uint64(len(s.rows)+1)
	s.rows = append(s.rows, Row{Key: key, Value: value})
	if fn != nil {
		return fn(key, value)
	}
	return nil
}

// addChunk adds the rows of an HSCAN reply (field, value, field, value...).
func (s *rowSet) addChunk(kv []string, fn func(string, []byte) error) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := s.add(kv[i], stringBytes(kv[i+1]), fn); err != nil {
			return err
		}
	}
	return nil
}

// index makes the table size slots (a power of 2) and indexes the rows
// again.
func (s *rowSet) index(size int) {
	if s.slots == nil {
		s.seed = maphash.MakeSeed()
	}
	s.slots = make([]uint64, size)
	mask := uint64(len(s.slots) - 1)
	for p, r := range s.rows {
		h := maphash.String(s.seed, r.Key)
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h&^0xffffffff | uint64(p+1)
	}
}

// LoadMeta reads where a shard is (epoch, seq, snapshot seq, whether a whole
// snapshot is stored) without its state: one small script.
func (c *Client) LoadMeta(ctx context.Context, shard string) (State, error) {
	if c.closed.Load() {
		return State{}, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return State{}, err
	}
	cl := &call{script: c.scr.meta, keys: []string{k.meta, k.snap, k.log}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err != nil {
		return State{}, fmt.Errorf("redis: meta %s: %w", shard, err)
	}
	if len(res) != 5 {
		return State{}, fmt.Errorf("redis: meta %s: unexpected reply of %d elements", shard, len(res))
	}
	var nums [3]uint64
	for i := range nums {
		s, _ := res[i].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return State{}, fmt.Errorf("%w: %s: field %d is %q", ErrCorrupt, shard, i, res[i])
		}
		nums[i] = n
	}
	logLen, _ := res[3].(int64)
	exists, _ := res[4].(int64)
	return State{Epoch: joinEpoch(nums[0], nums[1]), SnapshotSeq: nums[2], Seq: nums[2] + uint64(logLen), HasSnapshot: exists == 1}, nil
}

// parseState decodes loadLua's reply.
func parseState(shard string, res []any) (State, error) {
	if len(res) != 8 {
		return State{}, fmt.Errorf("redis: load %s: unexpected reply of %d elements", shard, len(res))
	}
	var nums [3]uint64
	for i := range nums {
		s, _ := res[i].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return State{}, fmt.Errorf("%w: %s: field %d is %q", ErrCorrupt, shard, i, res[i])
		}
		nums[i] = n
	}
	st := State{Epoch: joinEpoch(nums[0], nums[1]), SnapshotSeq: nums[2]}
	var w [2]uint64
	for i := range w {
		s, _ := res[5+i].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return State{}, fmt.Errorf("%w: %s: writer field %d is %q", ErrCorrupt, shard, i, res[5+i])
		}
		w[i] = n
	}
	if w[0] != 0 || w[1] != 0 {
		st.Writer = joinEpoch(w[0], w[1])
	}
	s, _ := res[7].(string)
	ev, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return State{}, fmt.Errorf("%w: %s: evseq is %q", ErrCorrupt, shard, res[7])
	}
	st.EventsSeq = ev
	if s, ok := res[3].(string); ok {
		st.Snapshot, st.HasSnapshot = []byte(s), true
	}
	log, _ := res[4].([]any)
	st.Seq = st.SnapshotSeq + uint64(len(log))
	st.Entries = make([]Entry, len(log))
	for i, e := range log {
		s, _ := e.(string)
		st.Entries[i] = Entry{Seq: st.SnapshotSeq + 1 + uint64(i), Data: []byte(s)}
	}
	return st, nil
}

// Counts returns the shard's read model (section id ->
// "available,held,reserved,sold", and "totals") and the seq of the last
// checkpoint that wrote it. A shard without counts returns an empty map and 0.
func (c *Client) Counts(ctx context.Context, shard string) (map[string]string, uint64, error) {
	if c.closed.Load() {
		return nil, 0, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return nil, 0, err
	}
	cl := &call{script: c.scr.counts, keys: []string{k.meta, k.counts}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("redis: counts %s: %w", shard, err)
	}
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("redis: counts %s: unexpected reply of %d elements", shard, len(res))
	}
	s, _ := res[0].(string)
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: countsseq %q", ErrCorrupt, shard, res[0])
	}
	kv, _ := res[1].([]any)
	out := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		out[f] = v
	}
	return out, seq, nil
}

// Archived returns the order id as an accepted checkpoint of shard stored
// it in its Archive, and whether there is one.
func (c *Client) Archived(ctx context.Context, shard, id string) ([]byte, bool, error) {
	if c.closed.Load() {
		return nil, false, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return nil, false, err
	}
	cl := &call{script: c.scr.hget, keys: []string{k.archive}, args: []any{id}, group: shard}
	c.run(ctx, []*call{cl})
	return bytesReply(cl.cmd, "archived "+shard)
}

// bytesReply decodes a string-or-nil reply.
func bytesReply(cmd *goredis.Cmd, what string) ([]byte, bool, error) {
	s, err := cmd.Text()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: %s: %w", what, err)
	}
	return []byte(s), true, nil
}
