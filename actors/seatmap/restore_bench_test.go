package seatmap

import (
	"encoding/base32"
	"encoding/binary"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// fillShow holds n seats of a 2M GA section and n/10 of a 200k seated one,
// for fresh users, with canonical ids of 128 random bits (Booking's now
// begin with their creation time: bookingToken; these stay random so that
// the figures of earlier rounds compare).
func fillShow(tb testing.TB, n int) *Shard {
	rng := rand.New(rand.NewSource(1))
	s := New(0)
	cfg := &ShowConfig{ID: "fill", HoldTTLSeconds: MaxHoldTTLSeconds, Tiers: []Tier{{ID: "std", Price: 5000}}}
	sec := Section{ID: "seated", Tier: "std"}
	for r := 1; r <= 200; r++ {
		sec.Rows = append(sec.Rows, Row{ID: strconv.Itoa(r), Seats: 1000})
	}
	cfg.Sections = []Section{{ID: "ga", Tier: "std", Capacity: 2_000_000}, sec}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		tb.Fatal(r.Err)
	}
	for i := 1; i <= n; i++ {
		c := Command{Kind: KindHold, HoldID: fillID(rng), User: "u" + strconv.Itoa(i), Section: "ga", Quantity: 1, Now: 1}
		if i%10 == 0 {
			c.Section = "seated"
		}
		if r := s.Apply(c); r.Err != nil {
			tb.Fatal(r.Err)
		}
		if i%1024 == 0 {
			s.Ready()
		}
	}
	s.Ready()
	return s
}

// idEncoding is the encoding of hold ids' tokens (actors/ids.go).
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomToken(rng *rand.Rand) string {
	var b [16]byte
	rng.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// bookingToken is a token as Booking makes it (actors/ids.go, newIDAt): its
// first 9 characters the time ms in base 26 ('a'+digit), the rest random.
func bookingToken(ms int64, rng *rand.Rand) string {
	var b [16]byte
	rng.Read(b[:])
	var digits [9]uint64
	t := uint64(ms)
	for i := 8; i >= 0; i-- {
		digits[i], t = t%26, t/26
	}
	var prefix uint64 // 45 bits
	for _, d := range digits {
		prefix = prefix<<5 | d
	}
	hi := binary.BigEndian.Uint64(b[:8])
	binary.BigEndian.PutUint64(b[:8], prefix<<19|hi&(1<<19-1))
	return idEncoding.EncodeToString(b[:])
}

// fillID is a hold id of show "fill" as Booking makes them (actors/ids.go).
func fillID(rng *rand.Rand) string { return "fill~" + randomToken(rng) }

// fillRows returns the state rows of fillShow's 1,000,000 holds (the show
// itself is left to the collector); it skips unless FILL_BENCH is set.
func fillRows(b *testing.B) []facts.Row {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	return fillShow(b, 1_000_000).Rows()
}

// BenchmarkRestoreRows: rebuild a show of 1,000,000 live holds from its state rows.
func BenchmarkRestoreRows(b *testing.B) {
	rows := fillRows(b)
	var heap float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h0 := heapAlloc()
		b.StartTimer()
		r := NewRestorer()
		for _, row := range rows {
			if err := r.Add(row.Key, row.Value); err != nil {
				b.Fatal(err)
			}
		}
		sh, err := r.Finish()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		heap = float64(heapAlloc()-h0) / float64(sh.ActiveHolds())
		runtime.KeepAlive(sh)
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
	b.ReportMetric(heap, "state-B/hold")
}

// heapAlloc is the live heap after a collection.
func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkCheckpointChoice measures, on a show of 1,000,000 live holds,
// what each way of checkpointing costs the actor's turn (bench/README.md,
// "Why state rows"): the whole state as the format before rows wrote it
// (JSON snapshot), the whole state as rows (binary snapshot), the least a
// copy-on-write snapshot must copy on the turn (the holds and users maps:
// Go maps cannot be shared), and the changed rows of a turn of 64 holds.
func BenchmarkCheckpointChoice(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	s := fillShow(b, 1_000_000)
	next := 2_000_000_000
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"json-snapshot", func() { _, _ = s.legacySnapshot() }},
		{"binary-snapshot", func() { _, _ = s.Snapshot() }},
		{"cow-map-copies", func() { _, _ = s.holds.index.clone(), s.users.index.clone() }},
		{"turn-rows-64-holds", func() {
			for i := 0; i < 64; i++ {
				next++
				s.Apply(Command{Kind: KindHold, HoldID: "fill~" + strconv.Itoa(next), User: "v" + strconv.Itoa(next), Section: "ga", Quantity: 1, Now: 2})
			}
			s.Ready()
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tc.f()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/turn")
		})
	}
}

// BenchmarkApplyGAHold: the seat map's Apply of a GA hold of one seat for a
// fresh user (the fill's and bench-serial's command) on a show of 1,000,000
// live holds, with a Ready every 64 commands (a writer group's flush).
// Reports ns per hold; the heap per live hold of the show (built live, as
// the actor has it) and the time of one full collection with the show
// live (the GC's mark work over its state). FILL_BENCH=1; FILL_HOLDS sets
// the live holds before the timed ones (default 1,000,000; nine in ten
// and every timed hold take the GA section's 2,000,000 places).
func BenchmarkApplyGAHold(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	h0 := heapAlloc()
	n := 1_000_000
	if v, _ := strconv.Atoi(os.Getenv("FILL_HOLDS")); v > 0 {
		n = v
	}
	s := fillShow(b, n)
	perHold := float64(heapAlloc()-h0) / float64(s.ActiveHolds())
	gc := time.Duration(1 << 62)
	for range 3 {
		t0 := time.Now()
		runtime.GC()
		gc = min(gc, time.Since(t0))
	}
	rng := rand.New(rand.NewSource(2))
	cmds := make([]Command, b.N)
	for i := range cmds {
		cmds[i] = Command{Kind: KindHold, HoldID: fillID(rng), User: "w" + strconv.Itoa(i), Section: "ga", Quantity: 1, Now: 2}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range cmds {
		if r := s.Apply(cmds[i]); r.Err != nil {
			b.Fatal(r.Err)
		}
		if i%64 == 63 {
			s.Advance(s.Ready())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/hold")
	b.ReportMetric(perHold, "state-B/hold")
	b.ReportMetric(float64(gc.Microseconds())/1000, "gc-ms")
	runtime.KeepAlive(s)
}

// BenchmarkRestoreBatches: rebuild a show of 1,000,000 live holds from its
// state rows in a random order (as Redis's HSCAN hands them), decoded
// (beforehand, untimed) into RowBatches of 1,024 rows as the loaders do, and
// added by AddBatch (timed); with and without touchBatch (prefetch.go).
func BenchmarkRestoreBatches(b *testing.B) {
	rows := fillRows(b)
	rand.New(rand.NewSource(2)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	var batches []*RowBatch
	for from := 0; from < len(rows); from += 1024 {
		rb := &RowBatch{}
		for _, row := range rows[from:min(from+1024, len(rows))] {
			if err := rb.Add(row.Key, row.Value); err != nil {
				b.Fatal(err)
			}
		}
		batches = append(batches, rb)
	}
	rows = nil
	for _, touch := range []bool{false, true} {
		b.Run("touch="+strconv.FormatBool(touch), func(b *testing.B) {
			defer func(t bool) { touchBatches = t }(touchBatches)
			touchBatches = touch
			for i := 0; i < b.N; i++ {
				r := NewRestorer()
				for _, rb := range batches {
					if err := r.AddBatch(rb); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := r.Finish(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
		})
	}
}
