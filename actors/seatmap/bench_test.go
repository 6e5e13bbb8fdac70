package seatmap

import (
	"fmt"
	"math/rand"
	"runtime"
	"testing"
)

// stadiumConfig is a 50,000-seat show: 50 sections of 25 rows of 40 seats.
func stadiumConfig() *ShowConfig {
	cfg := &ShowConfig{ID: "stadium", Tiers: []Tier{{ID: "std", Price: 5000}}, SectionsPerShard: 1000}
	for s := 0; s < 50; s++ {
		sec := Section{ID: fmt.Sprintf("s%d", s), Tier: "std"}
		for r := 1; r <= 25; r++ {
			sec.Rows = append(sec.Rows, Row{ID: fmt.Sprint(r), Seats: 40})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	return cfg
}

func newStadium(b *testing.B) *Shard {
	s := New(0)
	if r := s.Apply(Command{Kind: KindCreate, Show: stadiumConfig()}); r.Err != nil {
		b.Fatal(r.Err)
	}
	s.Ready()
	return s
}

// BenchmarkHoldRelease: hold two specific seats, then release them. The
// clock moves 40 ms a pair, so that an id comes back (every 2,000 pairs)
// after the shard stopped remembering its release (HoldReleasedMemory).
func BenchmarkHoldRelease(b *testing.B) {
	s := newStadium(b)
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("h%d", i)
	}
	seats := [][]string{{"s7-3-10", "s7-3-11"}, {"s9-20-1", "s9-20-2"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i%len(ids)]
		now := int64(i) * 40
		if r := s.Apply(Command{Kind: KindHold, User: "u", HoldID: id, Seats: seats[i%2], Now: now}); r.Err != nil {
			b.Fatal(r.Err)
		}
		s.Apply(Command{Kind: KindRelease, HoldID: id, Now: now})
		if i%1024 == 0 {
			s.Advance(s.Ready())
		}
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkHoldReleaseStream: GA holds of one seat, each released 256
// holds later (36 ms of the show's clock: the hold's answer and the release's
// round trip, as 256 clients do), with hold ids never reused, at 7,000
// releases a second of the show's clock, a tick a second (the deadline it
// asks for) and a Ready every 64 commands. A window of HoldReleasedMemory
// (60 s, 420,000 pairs) runs first, untimed, so that the timed pairs run
// against a full memory of released ids; released-MB is the heap that window
// left behind. ids=ordered makes ids as Booking does (their first
// characters the creation time, the show's clock here), ids=random as round
// 1 did (128 random bits).
func BenchmarkHoldReleaseStream(b *testing.B) {
	for _, kind := range []string{"ordered", "random"} {
		b.Run("ids="+kind, func(b *testing.B) { holdReleaseStream(b, kind == "ordered") })
	}
}

func holdReleaseStream(b *testing.B, ordered bool) {
	const perSec, lag = 7000, 256
	s := New(0)
	cfg := &ShowConfig{ID: "fill", Tiers: []Tier{{ID: "std", Price: 100}}, Sections: []Section{{ID: "ga", Tier: "std", Capacity: 100_000}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		b.Fatal(r.Err)
	}
	rng := rand.New(rand.NewSource(3))
	clock := func(i int) int64 { return int64(1_000_000 + i*1000/perSec) }
	id := func(i int) string {
		if ordered {
			return "fill~" + bookingToken(clock(i), rng)
		}
		return fillID(rng)
	}
	var live [lag]string // the holds placed and not yet released, by i % lag
	i := 0
	pair := func(id string) {
		now := clock(i)
		if r := s.Apply(Command{Kind: KindHold, HoldID: id, User: "u", Section: "ga", Quantity: 1, Now: now}); r.Err != nil {
			b.Fatal(r.Err)
		}
		if old := live[i%lag]; old != "" {
			s.Apply(Command{Kind: KindRelease, HoldID: old, Now: now})
		}
		live[i%lag] = id
		if i%32 == 31 {
			s.Advance(s.Ready())
		}
		if i%perSec == perSec-1 {
			s.Apply(Command{Kind: KindTick, Now: now})
		}
		i++
	}
	h0 := heapAlloc()
	for range 60 * perSec {
		pair(id(i))
	}
	retained := heapAlloc() - h0
	ids := make([]string, b.N)
	for n := range ids {
		ids[n] = id(i + n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids {
		pair(id)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pair")
	b.ReportMetric(float64(retained)/(1<<20), "released-MB")
	runtime.KeepAlive(s)
}

// BenchmarkBestAvailable fills a 50k-seat stadium with best-available holds of 1-4 seats.
func BenchmarkBestAvailable(b *testing.B) {
	s := newStadium(b)
	held, n := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := 1 + i%4
		r := s.Apply(Command{Kind: KindHold, User: "u", HoldID: fmt.Sprint("h", i), Section: fmt.Sprintf("s%d", i%50), Quantity: q, Now: 1})
		if r.Err == nil {
			held += q
		}
		n++
		if held > 45000 { // start over before the stadium is full
			b.StopTimer()
			s = newStadium(b)
			held = 0
			b.StartTimer()
		}
		if i%1024 == 0 {
			s.Advance(s.Ready())
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "holds/s")
}

// BenchmarkExpirySweep: 10,000 holds expire in one tick.
func BenchmarkExpirySweep(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newStadium(b)
		for h := 0; h < 10000; h++ {
			s.Apply(Command{Kind: KindHold, User: "u", HoldID: fmt.Sprint("h", h), Section: fmt.Sprintf("s%d", h%50), Quantity: 2, Now: int64(h)})
		}
		s.Ready()
		b.StartTimer()
		s.Apply(Command{Kind: KindTick, Now: 1 << 40})
		if s.ActiveHolds() != 0 {
			b.Fatal("holds left")
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "expiries/s")
}

// millionSeats is a 1,000,000-seat show: 100 sections of 100 rows of 100 seats.
func millionSeats() *ShowConfig {
	cfg := &ShowConfig{ID: "million", Tiers: []Tier{{ID: "std", Price: 5000}}, SectionsPerShard: 1000}
	for s := 0; s < 100; s++ {
		sec := Section{ID: fmt.Sprintf("s%d", s), Tier: "std"}
		for r := 1; r <= 100; r++ {
			sec.Rows = append(sec.Rows, Row{ID: fmt.Sprint(r), Seats: 100})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	return cfg
}

// BenchmarkMillionSeatMemory reports the heap bytes per seat of a 1M-seat
// shard with no holds, and with a tenth of its seats held in 2-seat holds.
func BenchmarkMillionSeatMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, empty, full runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := New(0)
		s.Apply(Command{Kind: KindCreate, Show: millionSeats()})
		s.Advance(s.Ready())
		runtime.GC()
		runtime.ReadMemStats(&empty)
		for h := 0; h < 50_000; h++ {
			s.Apply(Command{Kind: KindHold, User: fmt.Sprint("u", h%5000), HoldID: fmt.Sprint("h", h),
				Section: fmt.Sprintf("s%d", h%100), Quantity: 2, Now: 1})
			if h%1024 == 0 {
				s.Advance(s.Ready())
			}
		}
		s.Advance(s.Ready())
		runtime.GC()
		runtime.ReadMemStats(&full)
		b.ReportMetric(float64(empty.HeapAlloc-before.HeapAlloc)/1e6, "B/seat-empty")
		b.ReportMetric(float64(full.HeapAlloc-before.HeapAlloc)/1e6, "B/seat-10%held")
		runtime.KeepAlive(s)
	}
}

// BenchmarkMillionSeatRecovery: snapshot a 1M-seat shard holding 100,000
// seats, then restore it and replay 10,000 journaled records (the recovery of
// a shard at start).
func BenchmarkMillionSeatRecovery(b *testing.B) {
	s := New(0)
	s.Apply(Command{Kind: KindCreate, Show: millionSeats()})
	s.Advance(s.Ready())
	for h := 0; h < 50_000; h++ {
		s.Apply(Command{Kind: KindHold, User: fmt.Sprint("u", h%5000), HoldID: fmt.Sprint("h", h),
			Section: fmt.Sprintf("s%d", h%100), Quantity: 2, Now: 1})
		s.Advance(s.Ready())
	}
	snap, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	var recs []Record
	for h := 0; h < 10_000; h++ {
		s.Apply(Command{Kind: KindHold, User: "late", HoldID: fmt.Sprint("late", h), Section: fmt.Sprintf("s%d", h%100), Quantity: 1, Now: 2})
		recs = append(recs, s.Ready().Records...)
	}
	want := Fingerprint(s)
	b.ReportMetric(float64(len(snap))/1e6, "MB-snapshot")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Restore(snap)
		if err != nil {
			b.Fatal(err)
		}
		for _, rec := range recs {
			if err := r.Replay(rec); err != nil {
				b.Fatal(err)
			}
		}
		if i == 0 {
			b.StopTimer()
			if got := Fingerprint(r); got != want {
				b.Fatalf("recovered %s, want %s", got, want)
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/recovery")
}
