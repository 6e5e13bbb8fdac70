package actors

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// BenchmarkLoadShowPebble: the load of a show of 1,000,000 live holds (as
// bench/fill leaves it: 9 in 10 GA, fresh users, ids as Booking makes them)
// from its state rows in Pebble, alone (no fill before it: a quick loop for
// the recovery figures of bench/fill). Reports the load's seconds and the
// heap of the loaded show per hold. FILL_BENCH=1.
func BenchmarkLoadShowPebble(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: FILL_BENCH=1")
	}
	const holds = 1_000_000
	show := "fill-load"
	sh := seatmap.New(0)
	cfg := &seatmap.ShowConfig{ID: show, Name: show, HoldTTLSeconds: seatmap.MaxHoldTTLSeconds,
		Tiers: []seatmap.Tier{{ID: "std", Price: 5000}}}
	sec := seatmap.Section{ID: "seated", Tier: "std"}
	for r := 1; r <= 200; r++ {
		sec.Rows = append(sec.Rows, seatmap.Row{ID: strconv.Itoa(r), Seats: 1000})
	}
	cfg.Sections = []seatmap.Section{{ID: "ga", Tier: "std", Capacity: 2_000_000}, sec}
	now := time.Now().UnixMilli()
	if r := sh.Apply(seatmap.Command{Kind: seatmap.KindCreate, Show: cfg, Now: now}); r.Err != nil {
		b.Fatal(r.Err)
	}
	for i := 1; i <= holds; i++ {
		c := seatmap.Command{Kind: seatmap.KindHold, HoldID: newID(show), User: "u" + strconv.Itoa(i), Section: "ga", Quantity: 1, Now: now}
		if i%10 == 0 {
			c.Section = "seated"
		}
		if r := sh.Apply(c); r.Err != nil {
			b.Fatal(r.Err)
		}
		if i%1024 == 0 {
			sh.Ready()
		}
	}
	sh.Ready()
	dir := filepath.Join(b.TempDir(), "db")
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if err := NewPebbleJournal(st).SaveState(show, sh.Seq(), sh.Rows()); err != nil {
		b.Fatal(err)
	}
	sh = nil
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	var perHold float64
	var opening, cpu time.Duration
	if prefix := os.Getenv("FILL_PROFILE"); prefix != "" {
		f, err := os.Create(prefix + "-load.pprof")
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		_ = pprof.StartCPUProfile(f) // the loads only
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t0 := time.Now()
		st, err := pebble.Open(pebble.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		opening += time.Since(t0)
		h0 := heapInUse()
		c0 := processCPU()
		b.StartTimer()
		got, err := LoadShow(NewPebbleJournal(st), show)
		b.StopTimer()
		cpu += processCPU() - c0
		if err != nil {
			b.Fatal(err)
		}
		if got.ActiveHolds() != holds {
			b.Fatalf("loaded %d holds", got.ActiveHolds())
		}
		perHold = float64(heapInUse()-h0) / holds
		runtime.KeepAlive(got)
		got = nil
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
	b.ReportMetric(perHold, "state-B/hold")
	b.ReportMetric(opening.Seconds()/float64(b.N), "s/open")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/load")
}

// processCPU is the CPU time the process used so far (user and system):
// a load's CPU is less moved by other work on the machine than its time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
