package sim

import (
	"math"
	"math/bits"
)

// Histogram layout: values below 2^histSubBits are counted exactly; above,
// each power-of-two range [2^k, 2^(k+1)) is split into 2^(histSubBits-1)
// equal buckets, so a bucket is at most 2^(1-histSubBits) (0.78%) of its
// values wide. Values at or above 2^histMaxBits are clamped into the top bucket.
const (
	histSubBits  = 8
	histMaxBits  = 40 // 2^40 µs is about 12.7 days
	histLinear   = 1 << histSubBits
	histHalf     = 1 << (histSubBits - 1)
	histBuckets  = histLinear + (histMaxBits-histSubBits)*histHalf
	histMaxValue = int64(1)<<histMaxBits - 1
)

// Histogram is an HDR-style log-linear histogram of non-negative int64
// values (the harness records microseconds). The zero value is empty and
// ready to use. It is not safe for concurrent use: callers lock around it.
type Histogram struct {
	counts []uint64 // allocated on first Record
	total  uint64
	sum    float64
	min    int64
	max    int64
}

// bucketOf returns the bucket index of v (0 <= v <= histMaxValue).
func bucketOf(v int64) int {
	if v < histLinear {
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1 // v in [2^k, 2^(k+1)), k >= histSubBits
	shift := k - histSubBits + 1
	return histLinear + (k-histSubBits)*histHalf + int((v-int64(1)<<k)>>shift)
}

// bucketRange returns the lowest value of bucket i and the bucket's width.
func bucketRange(i int) (low, width int64) {
	if i < histLinear {
		return int64(i), 1
	}
	j := i - histLinear
	k := j/histHalf + histSubBits
	shift := k - histSubBits + 1
	return int64(1)<<k + int64(j%histHalf)<<shift, int64(1) << shift
}

// Record adds one value; negative values count as 0, huge ones are clamped.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	h.counts[bucketOf(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest value recorded (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Min is the smallest value recorded (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Mean is the exact mean of the values recorded, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at quantile q (0..1): the highest value that
// falls in the same bucket as the ceil(q*count)-th smallest value, capped by
// the exact maximum. So it is never below the true value and at most one
// bucket width (0.78%) above it. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := low + width - 1
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// Reset empties h, keeping its buckets allocated.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.total, h.sum, h.min, h.max = 0, 0, 0, 0
}

// CurvePoint is one point of a percentile distribution.
type CurvePoint struct {
	Percentile  float64 `json:"percentile"` // 0..100
	ValueMicros int64   `json:"value_micros"`
}

// Curve returns the percentile distribution in HdrHistogram's usual shape:
// the minimum (0%), then points evenly spaced in log10(1/(1-q)) up to the
// quantile the count can resolve (one in count), then the maximum (100%).
func (h *Histogram) Curve(pointsPerDecade int) []CurvePoint {
	if h.total == 0 {
		return nil
	}
	var out []CurvePoint
	out = append(out, CurvePoint{0, h.min})
	maxX := math.Log10(float64(h.total))
	for i := 1; ; i++ {
		x := float64(i) / float64(pointsPerDecade)
		if x > maxX {
			break
		}
		q := 1 - math.Pow(10, -x)
		out = append(out, CurvePoint{q * 100, h.Quantile(q)})
	}
	return append(out, CurvePoint{100, h.max})
}
