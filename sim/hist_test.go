package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the ceil(q*n)-th smallest value of sorted.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(float64(len(sorted))*q + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func TestHistogramBucketsRoundTrip(t *testing.T) {
	prevLow := int64(-1)
	for i := 0; i < histBuckets; i++ {
		low, width := bucketRange(i)
		if low <= prevLow {
			t.Fatalf("bucket %d starts at %d, not after %d", i, low, prevLow)
		}
		if got := bucketOf(low); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", low, got, i)
		}
		if got := bucketOf(low + width - 1); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d (top of bucket)", low+width-1, got, i)
		}
		if low >= histLinear && float64(width)/float64(low) > 1.0/histHalf {
			t.Fatalf("bucket %d: width %d too wide for low %d", i, width, low)
		}
		prevLow = low
	}
	if got := bucketOf(histMaxValue); got != histBuckets-1 {
		t.Fatalf("max value lands in bucket %d, want %d", got, histBuckets-1)
	}
}

func TestHistogramQuantilesVsSorted(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for trial := 0; trial < 30; trial++ {
		n := 1 + rng.IntN(20000)
		vals := make([]int64, n)
		var h Histogram
		for i := range vals {
			// log-uniform from 1 µs to ~10 s, with some exact small values
			v := int64(rng.ExpFloat64() * float64(int64(1)<<rng.IntN(24)))
			vals[i] = v
			h.Record(v)
		}
		slices.Sort(vals)
		if h.Count() != uint64(n) || h.Max() != vals[n-1] || h.Min() != vals[0] {
			t.Fatalf("trial %d: count/min/max = %d/%d/%d, want %d/%d/%d", trial, h.Count(), h.Min(), h.Max(), n, vals[0], vals[n-1])
		}
		for _, q := range []float64{0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1, rng.Float64()} {
			want := exactQuantile(vals, q)
			got := h.Quantile(q)
			// never below the true value, at most one bucket width above it
			_, width := bucketRange(bucketOf(want))
			if got < want || got > want+width-1 {
				t.Fatalf("trial %d (n=%d): q%.4f = %d, want %d (bucket width %d)", trial, n, q, got, want, width)
			}
			if want >= histLinear && float64(got-want) > float64(want)/histHalf {
				t.Fatalf("trial %d: q%.4f = %d vs %d: error above 1/%d", trial, q, got, want, histHalf)
			}
		}
	}
}

func TestHistogramMergeEqualsCombined(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var a, b, all Histogram
	for i := 0; i < 5000; i++ {
		v := rng.Int64N(1 << 30)
		all.Record(v)
		if rng.IntN(2) == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Fatalf("q%.3f: merged %d, combined %d", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() {
		t.Fatalf("merged count/min/max %d/%d/%d, combined %d/%d/%d", a.Count(), a.Min(), a.Max(), all.Count(), all.Min(), all.Max())
	}
	a.Reset()
	if a.Count() != 0 || a.Quantile(0.5) != 0 {
		t.Fatalf("after Reset: count %d, median %d", a.Count(), a.Quantile(0.5))
	}
}

func TestHistogramClampsAndCurve(t *testing.T) {
	var h Histogram
	h.Record(-5)
	h.Record(histMaxValue * 4)
	if h.Min() != 0 || h.Max() != histMaxValue {
		t.Fatalf("min %d max %d, want 0 and %d", h.Min(), h.Max(), histMaxValue)
	}
	var c Histogram
	for v := int64(1); v <= 10000; v++ {
		c.Record(v)
	}
	curve := c.Curve(5)
	if len(curve) < 10 || curve[0].Percentile != 0 || curve[len(curve)-1].Percentile != 100 {
		t.Fatalf("curve has %d points, ends %v..%v", len(curve), curve[0], curve[len(curve)-1])
	}
	for i := 1; i < len(curve); i++ {
		if curve[i].Percentile < curve[i-1].Percentile || curve[i].ValueMicros < curve[i-1].ValueMicros {
			t.Fatalf("curve not monotonic at %d: %v then %v", i, curve[i-1], curve[i])
		}
	}
}
