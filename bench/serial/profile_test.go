package serial

import (
	"bytes"
	"context"
	"runtime/pprof"
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
