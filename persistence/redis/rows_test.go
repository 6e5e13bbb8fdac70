package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func rowsOf(st State) string {
	var out []string
	for _, r := range st.Rows {
		out = append(out, r.Key+"="+string(r.Value))
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// TestStateRowsCheckpoints: rows ride on checkpoints, bring the stored state
// to RowsSeq and trim the log to the entries after it; Load returns rows +
// log; a whole snapshot of the format before refuses rows until a Seed.
func TestStateRowsCheckpoints(t *testing.T) {
	_, c := openServer(t, func(o *Options) { o.MaxEntriesPerCall = 2 })
	ctx := context.Background()
	const s = "rows-a"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3)})
	cp := Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 8), Rows: []Row{{"h1", []byte("x")}, {"h2", []byte("y")}}, RowsSeq: 3}
	mustApply(t, c, cp)
	mustApply(t, c, cp) // a retry of the same activation changes nothing
	st := load(t, c, s)
	if st.Seq != 8 || st.SnapshotSeq != 3 || len(st.Entries) != 5 || st.Entries[0].Seq != 4 || rowsOf(st) != "[h1=x h2=y]" {
		t.Fatalf("state %+v rows %s", st, rowsOf(st))
	}
	// rows alone, with a deletion, up to the last entry
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Rows: []Row{{"h1", nil}, {"h3", []byte("z")}}, RowsSeq: 8})
	st = load(t, c, s)
	if st.Seq != 8 || st.SnapshotSeq != 8 || len(st.Entries) != 0 || rowsOf(st) != "[h2=y h3=z]" {
		t.Fatalf("state %+v rows %s", st, rowsOf(st))
	}
	if m, err := c.LoadMeta(ctx, s); err != nil || m.Seq != 8 || m.SnapshotSeq != 8 || m.Epoch != e || m.HasSnapshot {
		t.Fatalf("meta %+v %v", m, err)
	}
	for _, bad := range []uint64{7, 9} { // older than the stored rows, past the log
		err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Rows: []Row{{"h9", []byte("q")}}, RowsSeq: bad})[0]
		if !errors.Is(err, ErrGap) {
			t.Fatalf("rows at %d: %v", bad, err)
		}
	}
	if err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Rows: []Row{{"h9", []byte("q")}}})[0]; !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("rows without a seq: %v", err)
	}
	// a whole snapshot replaces the rows
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 9, 9), Snapshot: []byte("S9"), SnapshotSeq: 9})
	st = load(t, c, s)
	if string(st.Snapshot) != "S9" || len(st.Rows) != 0 || st.Seq != 9 {
		t.Fatalf("after a snapshot: %+v", st)
	}
	err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 10, 10), Rows: []Row{{"h1", []byte("x")}}, RowsSeq: 9})[0]
	if !errors.Is(err, ErrWholeSnapshot) {
		t.Fatalf("rows over a whole snapshot: %v", err)
	}
	if st := load(t, c, s); st.Seq != 9 {
		t.Fatalf("a refused checkpoint wrote: seq %d", st.Seq)
	}
}

// TestSeed: a Seed replaces the whole stored state (snapshot, log, rows)
// with its rows at its seq, in several calls, under the epoch check.
func TestSeed(t *testing.T) {
	_, c := openServer(t, func(o *Options) { o.MaxEntriesPerCall = 3 })
	ctx := context.Background()
	const s = "seed-a"
	old := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: old, Entries: entries(s, 1, 4), Snapshot: []byte("S2"), SnapshotSeq: 2})
	e := activate(t, c, s)
	var rows []Row
	for i := 0; i < 10; i++ {
		rows = append(rows, Row{Key: fmt.Sprint("k", i), Value: []byte(fmt.Sprint("v", i))})
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: old, Seq: 40, Rows: rows}); !errors.Is(err, ErrFenced) {
		t.Fatalf("seed of a fenced activation: %v", err)
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 40, Rows: rows, Counts: map[string]string{"totals": "1,2,3,4"}}); err != nil {
		t.Fatal(err)
	}
	st := load(t, c, s)
	if st.Seq != 40 || st.SnapshotSeq != 40 || st.Snapshot != nil || len(st.Entries) != 0 || len(st.Rows) != 10 {
		t.Fatalf("seeded state %+v", st)
	}
	if got, seq, err := c.Counts(ctx, s); err != nil || got["totals"] != "1,2,3,4" || seq != 40 {
		t.Fatalf("counts %v %d %v", got, seq, err)
	}
	// the seeding activation is the last writer: it continues at 41 with rows
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 41, 42), Rows: []Row{{"k0", nil}}, RowsSeq: 40})
	st = load(t, c, s)
	if st.Seq != 42 || len(st.Rows) != 9 || len(st.Entries) != 2 {
		t.Fatalf("after seed: %+v", st)
	}
	// a seed of nothing empties the state
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 50}); err != nil {
		t.Fatal(err)
	}
	if st := load(t, c, s); st.Seq != 50 || len(st.Rows) != 0 || len(st.Entries) != 0 {
		t.Fatalf("empty seed: %+v", st)
	}
}

// TestLoadManyRows: Load reads a big rows hash in HSCAN chunks, every row once.
func TestLoadManyRows(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	const s = "many"
	e := activate(t, c, s)
	var rows []Row
	for i := 0; i < 30_000; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 7, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	st := load(t, c, s)
	seen := map[string]bool{}
	for _, r := range st.Rows {
		if seen[r.Key] {
			t.Fatalf("row %s twice", r.Key)
		}
		seen[r.Key] = true
	}
	if len(seen) != len(rows) || st.Seq != 7 {
		t.Fatalf("%d rows at %d, want %d at 7", len(seen), st.Seq, len(rows))
	}
}

// TestLoadRows: LoadRows hands the rows named first before the others, every
// row once (as they are read) and all of them in the State; a checkpoint
// accepted while it reads (here: from inside its callback, as a newer
// activation's would be) makes it answer ErrChangedWhileRead, and the next
// read is whole again.
func TestLoadRows(t *testing.T) {
	defer func(n int64) { rowsScanCount = n }(rowsScanCount)
	rowsScanCount = 1000 // many chunks
	_, c := openServer(t, nil)
	ctx := context.Background()
	const s = "fed"
	e := activate(t, c, s)
	var rows []Row
	for i := 0; i < 30_000; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 7, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	first := []string{"h029999", "nope", "h000123"}
	var handed []string
	seen := map[string]bool{}
	st, err := c.LoadRows(ctx, s, first, func(k string, v []byte) error {
		if seen[k] {
			t.Fatalf("row %s handed twice", k)
		}
		seen[k] = true
		if k[1:] != fmt.Sprintf("%06s", v) {
			t.Fatalf("row %s = %s", k, v)
		}
		handed = append(handed, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(handed) != len(rows) || len(st.Rows) != len(rows) || st.Seq != 7 || handed[0] != "h029999" || handed[1] != "h000123" {
		t.Fatalf("%d rows handed (first %v), %d in the state at %d; want %d at 7, h029999 and h000123 first",
			len(handed), handed[:2], len(st.Rows), st.Seq, len(rows))
	}
	// written to while read: a checkpoint of a newer activation
	e2 := activate(t, c, s)
	wrote := false
	_, err = c.LoadRows(ctx, s, nil, func(string, []byte) error {
		if !wrote {
			wrote = true
			mustApply(t, c, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 8, 8), Rows: []Row{{"h000001", []byte("x")}}, RowsSeq: 7})
		}
		return nil
	})
	if !errors.Is(err, ErrChangedWhileRead) {
		t.Fatalf("written to while read: %v", err)
	}
	if st, err = c.LoadRows(ctx, s, nil, func(string, []byte) error { return nil }); err != nil || st.Seq != 8 || len(st.Rows) != len(rows) {
		t.Fatalf("read again: %d rows at %d, %v", len(st.Rows), st.Seq, err)
	}
	// a callback's error stops the read
	boom := errors.New("boom")
	if _, err := c.LoadRows(ctx, s, nil, func(string, []byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
}

// TestLoadRowsChunkTimedOut: a chunk of rows whose round trip times out
// (Redis stalls for a while, as on a loaded machine) is asked for again from
// its cursor: the read goes on with the rows it has, hands every row once,
// and does not scan the hash from the start again; a bucket whose HGETALL
// timed out is read again in chunks.
func TestLoadRowsChunkTimedOut(t *testing.T) {
	defer func(n int64) { rowsScanCount = n }(rowsScanCount)
	rowsScanCount = 1000 // many chunks
	srv, c := openServer(t, func(o *Options) {
		o.ReadTimeout = 100 * time.Millisecond
		o.HealthInterval = time.Hour // no probe marks it down meanwhile
	})
	seeder := openClient(t, Options{Addr: srv.Addr(), Logger: testLogger(t)}) // the usual timeouts
	ctx := context.Background()
	var rows []Row
	for i := 0; i < 20_000; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
	}
	seedOneHash(t, seeder, "slowrows", 7, rows)
	if err := seeder.Seed(ctx, Seed{Shard: "slowbuckets", Epoch: activate(t, seeder, "slowbuckets"), Seq: 7, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"slowrows", "slowbuckets"} {
		retries := c.Metrics()["scan_retries"]
		if err := c.rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		st, err := c.LoadRows(ctx, s, nil, func(k string, v []byte) error {
			if seen[k] {
				t.Fatalf("%s: row %s handed twice", s, k)
			}
			if seen[k] = true; len(seen) == 5_000 {
				if err := srv.Stop(); err != nil { // the next chunk times out
					t.Fatal(err)
				}
				time.AfterFunc(250*time.Millisecond, func() { _ = srv.Cont() })
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: read with a stalled chunk: %v", s, err)
		}
		if len(seen) != len(rows) || len(st.Rows) != len(rows) || st.Seq != 7 {
			t.Fatalf("%s: %d rows handed, %d in the state at %d; want %d at 7", s, len(seen), len(st.Rows), st.Seq, len(rows))
		}
		if n := c.Metrics()["scan_retries"]; n < retries+1 {
			t.Fatalf("%s: scan_retries %v, want >= %v", s, n, retries+1)
		}
		info, err := c.rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		for _, l := range strings.Split(info, "\n") {
			if strings.HasPrefix(l, "cmdstat_hscan:calls=") {
				calls, _ = strconv.Atoi(strings.TrimPrefix(strings.SplitN(l, ",", 2)[0], "cmdstat_hscan:calls="))
			}
		}
		// one hash: ~20 chunks of 1,000 (fewer rows a chunk after the
		// timeout), and the timed-out round trips; a scan from the start
		// would add 20 more. Buckets: the timed-out ones (of 625 rows) in
		// chunks
		if calls == 0 || calls > 40 {
			t.Fatalf("%s: %d HSCAN calls for 20 chunks", s, calls)
		}
		t.Logf("%s: %d HSCAN calls, %v chunks asked for again", s, calls, c.Metrics()["scan_retries"]-retries)
	}
}

// TestLoadRowsRepeats: LoadRows counts the rows it hands rather than
// indexing them; a scan that returned a row twice (HSCAN does while the hash
// is rehashed: here a hook repeats a row of every chunk) answers
// ErrChangedWhileRead, and the reads after it index their rows and hand
// each once. A scan that returned fewer rows than the hash held answers
// ErrChangedWhileRead too, without indexing the next reads.
func TestLoadRowsRepeats(t *testing.T) {
	defer func(n, m int64) { rowsScanCount, bucketGetAllMax = n, m }(rowsScanCount, bucketGetAllMax)
	rowsScanCount, bucketGetAllMax = 100, 0 // the buckets scanned, in many chunks
	defer func() { scanChunkHook = nil }()
	_, c := openServer(t, nil)
	ctx := context.Background()
	const s = "rehashed"
	e := activate(t, c, s)
	var rows []Row
	for i := 0; i < 5_000; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 7, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	read := func() (map[string]int, State, error) {
		handed := map[string]int{}
		st, err := c.LoadRows(ctx, s, []string{"h000042"}, func(k string, v []byte) error {
			handed[k]++
			return nil
		})
		return handed, st, err
	}
	repeatFirst := func(kv []string) []string {
		if len(kv) < 2 {
			return kv
		}
		return append(kv, kv[0], kv[1])
	}
	scanChunkHook = repeatFirst
	handed, _, err := read()
	if !errors.Is(err, ErrChangedWhileRead) {
		t.Fatalf("a scan with repeats: %v", err)
	}
	twice := 0
	for _, n := range handed {
		if n > 1 {
			twice++
		}
	}
	if twice == 0 || c.Metrics()["scan_repeats"] != 1 {
		t.Fatalf("%d rows handed twice, scan_repeats %v; want some, 1", twice, c.Metrics()["scan_repeats"])
	}
	// read again (the repeats go on): indexed, each row once
	handed, st, err := read()
	if err != nil || len(handed) != len(rows) || len(st.Rows) != len(rows) || st.Seq != 7 {
		t.Fatalf("read again: %d rows handed, %d in the state at %d, %v", len(handed), len(st.Rows), st.Seq, err)
	}
	for k, n := range handed {
		if n != 1 {
			t.Fatalf("read again: row %s handed %d times", k, n)
		}
	}
	// counted again; a row missing from the scan
	c.dedupeUntil.Store(0)
	scanChunkHook = func(kv []string) []string {
		if len(kv) < 2 {
			return kv
		}
		return kv[2:]
	}
	if _, _, err := read(); !errors.Is(err, ErrChangedWhileRead) || c.Metrics()["scan_repeats"] != 2 {
		t.Fatalf("a scan with rows missing: %v, scan_repeats %v", err, c.Metrics()["scan_repeats"])
	}
	scanChunkHook = nil
	if handed, st, err := read(); err != nil || len(handed) != len(rows) || len(st.Rows) != len(rows) || c.dedupeUntil.Load() != 0 {
		t.Fatalf("counted read: %d rows handed, %d in the state, %v, dedupe armed %v", len(handed), len(st.Rows), err, c.dedupeUntil.Load() != 0)
	}
}

// seedOneHash stores rows at seq as a version before buckets did (one hash
// at the rows key), under a new activation of shard.
func seedOneHash(t *testing.T, c *Client, shard string, seq uint64, rows []Row) {
	t.Helper()
	ctx := context.Background()
	if err := c.Seed(ctx, Seed{Shard: shard, Epoch: activate(t, c, shard), Seq: seq}); err != nil {
		t.Fatal(err)
	}
	k, err := keysOf(shard)
	if err != nil {
		t.Fatal(err)
	}
	p := c.rdb.Pipeline()
	p.Del(ctx, k.rows) // this version's string
	for _, r := range rows {
		p.HSet(ctx, k.rows, r.Key, r.Value)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRowsInParts: a big hash is scanned in scanParts parts at once
// (each from its own cursor); every row is handed once, with the chunk that
// crossed from one part into the next joined without the rows the next part
// read itself (without that join, its repeats fail the read's count). Hashes
// of several sizes, and chunks from small to a part's whole.
func TestLoadRowsInParts(t *testing.T) {
	defer func(n, m int64) { rowsScanCount, scanPartsMin = n, m }(rowsScanCount, scanPartsMin)
	scanPartsMin = 1000
	_, c := openServer(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		rows  int
		count int64
	}{{1000, 100}, {7919, 300}, {30_000, 1000}, {30_000, 3000}} {
		rowsScanCount = tc.count
		s := fmt.Sprintf("parts%d-%d", tc.rows, tc.count)
		var rows []Row
		for i := 0; i < tc.rows; i++ {
			rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
		}
		seedOneHash(t, c, s, 7, rows)
		parted := c.Metrics()["scan_parted"]
		handed := map[string]int{}
		st, err := c.LoadRows(ctx, s, []string{"h000042"}, func(k string, v []byte) error {
			handed[k]++
			if k[1:] != fmt.Sprintf("%06s", v) {
				t.Fatalf("row %s = %s", k, v)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%d rows in chunks of %d: %v", tc.rows, tc.count, err)
		}
		if len(handed) != tc.rows || len(st.Rows) != tc.rows || c.Metrics()["scan_parted"] != parted+1 {
			t.Fatalf("%d rows in chunks of %d: %d handed, %d in the state, scanned in parts %v times",
				tc.rows, tc.count, len(handed), len(st.Rows), c.Metrics()["scan_parted"]-parted)
		}
		for k, n := range handed {
			if n != 1 {
				t.Fatalf("%d rows in chunks of %d: row %s handed %d times", tc.rows, tc.count, k, n)
			}
		}
	}
}

// TestReverseLow: a part's first cursor is its number's bits reversed.
func TestReverseLow(t *testing.T) {
	for _, tc := range []struct{ p, parts, want uint64 }{
		{0, 1, 0}, {0, 2, 0}, {1, 2, 1}, {0, 4, 0}, {1, 4, 2}, {2, 4, 1}, {3, 4, 3}, {1, 8, 4}, {6, 8, 3},
	} {
		if got := reverseLow(tc.p, tc.parts); got != tc.want {
			t.Errorf("reverseLow(%d, %d) = %d, want %d", tc.p, tc.parts, got, tc.want)
		}
	}
}

// TestRowBucketPinned: a row's bucket is part of the stored layout (a
// changed rowBucket would leave rows in buckets no write reaches).
func TestRowBucketPinned(t *testing.T) {
	for key, want := range map[string]int{"": 5, "h000001": 12, "\x06fill~abcdefghijklmnopqrstuvwxyz": 13, "config": 7} { // FNV-1a by another implementation
		if got := rowBucket(key); got != want {
			t.Errorf("rowBucket(%q) = %d, want %d", key, got, want)
		}
	}
	counts := make([]int, rowBuckets)
	for i := 0; i < 32_000; i++ {
		counts[rowBucket(fmt.Sprintf("\x06fill~%026d", i))]++
	}
	for b, n := range counts {
		if n < 800 || n > 1200 {
			t.Fatalf("bucket %d holds %d of 32,000 rows: %v", b, n, counts)
		}
	}
}

// TestRowsOfOneHash: a shard stored as a version before buckets did (its
// rows in one hash at the rows key) reads as it was; an activation moves the
// hash aside (rows:old) and leaves a string at the rows key, on which such a
// version fails (WRONGTYPE) instead of reading a state without the rows in
// buckets; every write of a row takes it out of rows:old into its bucket
// (an update is then read once, with its new value; a deleted row is gone),
// and a Seed leaves no hash of that layout behind.
func TestRowsOfOneHash(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	const s = "onehash"
	var rows []Row
	for i := 0; i < 3_000; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%06d", i), Value: []byte(fmt.Sprint(i))})
	}
	seedOneHash(t, c, s, 7, rows)
	k, err := keysOf(s)
	if err != nil {
		t.Fatal(err)
	}
	read := func(what string) map[string]string {
		t.Helper()
		st, err := c.LoadRows(ctx, s, []string{"h000002", "h000003"}, func(string, []byte) error { return nil })
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := map[string]string{}
		for _, r := range st.Rows {
			if _, ok := got[r.Key]; ok {
				t.Fatalf("%s: row %s read twice", what, r.Key)
			}
			got[r.Key] = string(r.Value)
		}
		return got
	}
	if got := read("before any write"); len(got) != len(rows) || got["h000002"] != "2" {
		t.Fatalf("before any write: %d rows, h000002 = %q", len(got), got["h000002"])
	}
	e := activate(t, c, s)
	if got := read("activated"); len(got) != len(rows) || got["h000002"] != "2" {
		t.Fatalf("activated: %d rows, h000002 = %q", len(got), got["h000002"])
	}
	// what a version before buckets reads and writes
	if err := c.rdb.HLen(ctx, k.rows).Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("HLEN of the rows key after an activation: %v, want WRONGTYPE", err)
	}
	if err := c.rdb.HSet(ctx, k.rows, "h000001", "x").Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("HSET of the rows key after an activation: %v, want WRONGTYPE", err)
	}
	// the activation writes: h000001 deleted, h000002 updated, h000003
	// added back with its value (it was there)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 8, 8), RowsSeq: 8,
		Rows: []Row{{"h000001", nil}, {"h000002", []byte("two")}, {"h000003", []byte("3")}, {"n000001", []byte("new")}}})
	got := read("after a write")
	if len(got) != len(rows) || got["h000002"] != "two" || got["h000003"] != "3" || got["n000001"] != "new" {
		t.Fatalf("after a write: %d rows (want %d), h000002 %q h000003 %q n000001 %q", len(got), len(rows), got["h000002"], got["h000003"], got["n000001"])
	}
	if _, ok := got["h000001"]; ok {
		t.Fatal("after a write: the deleted row h000001 is read")
	}
	for _, key := range []string{"h000001", "h000002", "h000003"} {
		if in, err := c.rdb.HExists(ctx, k.rowsOld, key).Result(); err != nil || in {
			t.Fatalf("row %s is still in rows:old (%v)", key, err)
		}
	}
	// a Seed replaces everything: no hash of the layout before buckets left
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: e, Seq: 9, Rows: []Row{{"h000009", []byte("9")}}}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.rdb.Exists(ctx, k.rowsOld, k.stage).Result(); err != nil || n != 0 {
		t.Fatalf("after a Seed: %d keys of the one-hash layout left (%v)", n, err)
	}
	if typ, err := c.rdb.Type(ctx, k.rows).Result(); err != nil || typ != "string" {
		t.Fatalf("after a Seed: the rows key is a %s (%v), want a string", typ, err)
	}
	if got := read("after a Seed"); len(got) != 1 || got["h000009"] != "9" {
		t.Fatalf("after a Seed: %v", got)
	}
}

// TestLoadRowsFirstTimedOut: a read of the rows named first that fails
// (here: Redis stalls past the client's ReadTimeout of 100 ms for 150 ms,
// then answers again, in time for the read's closing check) fails the load; it never answers a
// state without its rows.
func TestLoadRowsFirstTimedOut(t *testing.T) {
	defer func() { firstReadHook = nil }()
	srv, c := openServer(t, func(o *Options) {
		o.ReadTimeout = 100 * time.Millisecond
		o.MaxRetries = -1            // no retry outlasts the stall
		o.HealthInterval = time.Hour // no probe marks it down meanwhile
	})
	ctx := context.Background()
	const s = "firststall"
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: activate(t, c, s), Seq: 7, Rows: []Row{{"h1", []byte("1")}, {"h2", []byte("2")}}}); err != nil {
		t.Fatal(err)
	}
	firstReadHook = func() {
		firstReadHook = nil
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(150*time.Millisecond, func() { _ = srv.Cont() })
	}
	st, err := c.LoadRows(ctx, s, []string{"h1"}, func(string, []byte) error { return nil })
	if err == nil {
		t.Fatalf("a failed read of the first rows answered %d rows and no error", len(st.Rows))
	}
	time.Sleep(300 * time.Millisecond)
	c.healthy.Store(true) // as the next probe would
	if st, err := c.LoadRows(ctx, s, []string{"h1"}, func(string, []byte) error { return nil }); err != nil || len(st.Rows) != 2 {
		t.Fatalf("read again: %d rows, %v", len(st.Rows), err)
	}
}
