package seatmap

import (
	"strconv"
	"testing"
)

// fillShow holds n seats of a 2M GA section and n/10 of a 200k seated one,
// for fresh users, as the fill benchmark does.
func fillShow(tb testing.TB, n int) *Shard {
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
		c := Command{Kind: KindHold, HoldID: "fill~" + strconv.Itoa(1e9+i), User: "u" + strconv.Itoa(i), Section: "ga", Quantity: 1, Now: 1}
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

// BenchmarkRestoreRows: rebuild a show of 1,000,000 live holds from its state rows.
func BenchmarkRestoreRows(b *testing.B) {
	s := fillShow(b, 1_000_000)
	rows := s.Rows()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := NewRestorer()
		for _, row := range rows {
			if err := r.Add(row.Key, row.Value); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
}
