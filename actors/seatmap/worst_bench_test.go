package seatmap

import (
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWorstApplyFilling: the slowest single Apply (and the slowest Ready,
// taken every 64 holds as the actor's flush would) while one show fills to
// 1,000,000 GA holds of fresh users, as the fill benchmark's show does. What
// grows with the show on the actor's turn shows here alone, without Pebble,
// the network or the load generator (GC is forced before the timed run and
// the worst figures are the least of 3 fills).
func BenchmarkWorstApplyFilling(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("fills a show to 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	const holds = 1_000_000
	worstApply, worstReady := time.Duration(1<<62), time.Duration(1<<62)
	var at int
	for range 3 {
		s := fillShow(b, 0)
		rng := rand.New(rand.NewSource(3))
		runtime.GC()
		var wa, wr time.Duration
		var wat int
		for i := 1; i <= holds; i++ {
			c := Command{Kind: KindHold, HoldID: fillID(rng), User: "u" + strconv.Itoa(i), Section: "ga", Quantity: 1, Now: 1}
			t0 := time.Now()
			r := s.Apply(c)
			if d := time.Since(t0); d > wa {
				wa, wat = d, i
			}
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			if i%64 == 0 {
				t0 = time.Now()
				s.Advance(s.Ready())
				wr = max(wr, time.Since(t0))
			}
		}
		if wa < worstApply {
			worstApply, at = wa, wat
		}
		worstReady = min(worstReady, wr)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(worstApply.Microseconds())/1000, "worst-apply-ms")
	b.ReportMetric(float64(at), "worst-at-hold")
	b.ReportMetric(float64(worstReady.Microseconds())/1000, "worst-ready-ms")
}
