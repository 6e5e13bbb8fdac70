package seatmap

import (
	"fmt"
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

// BenchmarkHoldRelease: hold two specific seats, then release them.
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
		if r := s.Apply(Command{Kind: KindHold, User: "u", HoldID: id, Seats: seats[i%2], Now: int64(i)}); r.Err != nil {
			b.Fatal(r.Err)
		}
		s.Apply(Command{Kind: KindRelease, HoldID: id, Now: int64(i)})
		if i%1024 == 0 {
			s.Advance(s.Ready())
		}
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "ops/s")
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
