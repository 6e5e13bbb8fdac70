package serial

import (
	"bytes"
	"context"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"
)

// spin burns CPU for d.
func spin(d time.Duration) (n int) {
	for start := time.Now(); time.Since(start) < d; {
		for i := 0; i < 1000; i++ {
			n += i * i
		}
	}
	return n
}

// TestCPUByLabel: a goroutine labelled "k"="busy" that burns CPU shows up
// under "busy", and the parser rejects what is not a profile.
func TestCPUByLabel(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("a CPU profile is already running:", err)
	}
	done := make(chan int)
	go pprof.Do(context.Background(), pprof.Labels("k", "busy"), func(context.Context) { done <- spin(500 * time.Millisecond) })
	<-done
	pprof.StopCPUProfile()
	got, err := cpuByLabel(buf.Bytes(), "k")
	if err != nil {
		t.Fatal(err)
	}
	// at least one sample: the machine may give the spin little CPU
	if got["busy"] <= 0 {
		t.Fatalf("no labelled CPU in a 500 ms spin (all: %v)", got)
	}
	if _, err := cpuByLabel([]byte("not a profile"), "k"); err == nil {
		t.Fatal("no error for bytes that are not a profile")
	}
}

// TestMedian: odd and even counts; the input keeps its order.
func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3.5}, 3.5},
		{[]float64{3.2, 2.5, 2.9}, 2.9},
		{[]float64{3.0, 2.0, 4.0, 1.0}, 2.5},
	} {
		in := slices.Clone(tc.in)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median reordered its input: %v -> %v", in, tc.in)
		}
	}
	out := summary([]int{64, 1024}, map[int][]float64{64: {3.1, 2.9, 3.0}, 1024: {2.0, 2.2, 2.1}})
	for _, want := range []string{"64 callers: 3.00 (runs: 3.10 2.90 3.00)", "1024 callers: 2.10", "1024 callers / 64 callers: 0.70"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
