package perf

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestHistogramLayout: every value falls in a bucket whose top is at
// or above it and within 3.2% of it.
func TestHistogramLayout(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	check := func(v int64) {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("value %d: bucket %d out of range", v, i)
		}
		top := bucketTop(i)
		if top < v || float64(top-v) > float64(v)*0.032 {
			t.Fatalf("value %d: bucket %d tops at %d", v, i, top)
		}
		if i > 0 && bucketTop(i-1) >= v {
			t.Fatalf("value %d: the previous bucket tops at %d", v, bucketTop(i-1))
		}
	}
	for v := int64(0); v < 5000; v++ {
		check(v)
	}
	for range 100_000 {
		check(rng.Int64N(maxValue + 1))
	}
	check(maxValue)
}
