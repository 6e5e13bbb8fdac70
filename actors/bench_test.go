package actors

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// benchShard spawns a standalone shard actor over j with a 50,000-seat show.
func benchShard(b *testing.B, j Journal) (*request, func(cmd seatmap.Command, ch chan seatmap.Result)) {
	env := &Env{Journal: j, Log: testEnv.Log, SnapshotEvery: 1 << 30}
	id := uniq("bench") + "/0"
	pid := testNode.System.Root.Spawn(ShowProps(env, id))
	b.Cleanup(func() { testNode.System.Root.Stop(pid) })
	send := func(cmd seatmap.Command, ch chan seatmap.Result) {
		testNode.System.Root.Send(pid, &request{cmd: cmd, reply: ch})
	}
	cfg := stadium(id[:len(id)-2], 50, 25, 40, 1000)
	ch := make(chan seatmap.Result, 1)
	send(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}, ch)
	if r := <-ch; r.Err != nil {
		b.Fatal(r.Err)
	}
	return nil, send
}

// runPipelined has `producers` goroutines keep `window` commands in flight
// each; every producer alternates holding and releasing its own seats, so
// every command changes state and is journaled.
func runPipelined(b *testing.B, j Journal, producers, window int) {
	_, send := benchShard(b, j)
	per := b.N/producers + 1
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			ch := make(chan seatmap.Result, window)
			inflight := 0
			for i := 0; i < per; i++ {
				seat := fmt.Sprintf("s%d-%d-%d", p%50, 1+(p/50)*4+(i/2/40)%4, 1+(i/2)%40)
				hold := fmt.Sprintf("p%d-h%d", p, i/2)
				cmd := seatmap.Command{Kind: seatmap.KindHold, User: "u", HoldID: hold, Seats: []string{seat}}
				if i%2 == 1 {
					cmd = seatmap.Command{Kind: seatmap.KindRelease, HoldID: hold}
				}
				if inflight == window {
					if r := <-ch; r.Err != nil {
						b.Error(r.Err)
						return
					}
					inflight--
				}
				send(cmd, ch)
				inflight++
				if i%2 == 0 { // the release must see the hold: wait for it
					for inflight > 0 {
						if r := <-ch; r.Err != nil {
							b.Error(r.Err)
							return
						}
						inflight--
					}
				}
			}
			for ; inflight > 0; inflight-- {
				<-ch
			}
		}(p)
	}
	wg.Wait()
	b.ReportMetric(float64(per*producers)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkActorOps measures seat commands per second through one shard
// actor, with mailbox batching: many producers, one journal batch per turn.
func BenchmarkActorOps(b *testing.B) {
	for _, jn := range []string{"memory", "pebble-nosync", "pebble-sync"} {
		b.Run("journal="+jn, func(b *testing.B) {
			var j Journal = NewMemJournal()
			if jn != "memory" {
				st, err := pebble.Open(pebble.Options{Dir: filepath.Join(b.TempDir(), "db"), NoSync: jn == "pebble-nosync"})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				j = NewPebbleJournal(st)
			}
			runPipelined(b, j, 256, 1)
		})
	}
}

// BenchmarkBookingHold measures holds/s through Booking (ids, routing, the
// actor and back) with 64 and 1,024 concurrent callers, as the HTTP layer
// calls it, on the in-memory journal; cpu-ns/cmd is the process's CPU time
// per command (hold or release), steadier than ops/s on a shared machine.
func BenchmarkBookingHold(b *testing.B) {
	for _, callers := range []int{64, 1024} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			ctx := context.Background()
			bk := newTestBooking()
			// one general-admission section: one actor (issue 12's hot show)
			cfg := seatmap.ShowConfig{ID: uniq("bbench"), Name: "hot", Tiers: []seatmap.Tier{{ID: "ga", Price: 100}},
				Sections: []seatmap.Section{{ID: "ga", Tier: "ga", Capacity: 1_000_000}}}
			if _, err := bk.CreateShow(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(max(callers/runtime.GOMAXPROCS(0), 1))
			b.ReportAllocs()
			cpu0 := cpuSeconds(syscall.RUSAGE_SELF)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h, _, err := bk.Hold(ctx, seatmap.HoldRequest{Show: cfg.ID, User: "u", Section: "ga", Quantity: 1})
					if err != nil {
						b.Error(err)
						return
					}
					if err := bk.ReleaseHold(ctx, "", cfg.ID, h.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "ops/s")
			b.ReportMetric((cpuSeconds(syscall.RUSAGE_SELF)-cpu0)*1e9/float64(2*b.N), "cpu-ns/cmd")
		})
	}
}

// BenchmarkActorOpsBatched: producers send commands 128 to a message
// (requestBatch); the actor applies a message's commands in one turn.
func BenchmarkActorOpsBatched(b *testing.B) {
	for _, shards := range []int{1, 2} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			const per = 128
			var sends []func(*requestBatch)
			for n := 0; n < shards; n++ {
				env := &Env{Journal: nopJournal{}, Log: testEnv.Log, SnapshotEvery: 1 << 30}
				id := uniq("bbatch")
				pid := testNode.System.Root.Spawn(ShowProps(env, id))
				b.Cleanup(func() { testNode.System.Root.Stop(pid) })
				sends = append(sends, func(m *requestBatch) { testNode.System.Root.Send(pid, m) })
				cfg := stadium(id[:len(id)-2], 50, 25, 40, 1000)
				ch := make(chan []seatmap.Result, 1)
				sends[n](&requestBatch{cmds: []seatmap.Command{{Kind: seatmap.KindCreate, Show: &cfg}}, reply: ch})
				if r := <-ch; r[0].Err != nil {
					b.Fatal(r[0].Err)
				}
			}
			producers := 4 * shards
			msgs := b.N/(per*producers) + 1
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					ch := make(chan []seatmap.Result, 2)
					send := sends[p%shards]
					seats := make([]string, per/2)
					holds := make([]string, per/2)
					for k := range seats {
						seats[k] = fmt.Sprintf("s%d-%d-%d", p, 1+k/40, 1+k%40)
						holds[k] = fmt.Sprintf("p%d-%d", p, k)
					}
					for i := 0; i < msgs; i++ {
						cmds := make([]seatmap.Command, 0, per)
						for k := range seats { // hold then release each seat: every command changes state
							cmds = append(cmds, seatmap.Command{Kind: seatmap.KindHold, User: "u", HoldID: holds[k], Seats: seats[k : k+1]})
							cmds = append(cmds, seatmap.Command{Kind: seatmap.KindRelease, HoldID: holds[k]})
						}
						send(&requestBatch{cmds: cmds, reply: ch})
						for _, r := range <-ch {
							if r.Err != nil {
								b.Error(r.Err)
								return
							}
						}
					}
				}(p)
			}
			wg.Wait()
			b.ReportMetric(float64(msgs*per*producers)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// nopJournal forgets everything: the actor path without any journal cost.
type nopJournal struct{}

func (nopJournal) Append(string, Write) (Held, error)                      { return nil, nil }
func (nopJournal) Load(string, func(string, []byte) error) (Stored, error) { return Stored{}, nil }
func (nopJournal) SaveState(string, uint64, []facts.Row) error             { return nil }
func (nopJournal) Shards() ([]string, error)                               { return nil, nil }
func (nopJournal) Recover() error                                          { return nil }
func (nopJournal) Failed() bool                                            { return false }
func (nopJournal) DropAfter(string, uint64) error                          { return nil }
func (nopJournal) Archived(string) ([]byte, bool, error)                   { return nil, false, nil }
func (nopJournal) LocalEpoch(string) (uint64, uint64, error)               { return 0, 0, nil }
func (nopJournal) SetLocalEpoch(string, uint64, uint64, bool) error        { return nil }
func (nopJournal) Reset(string) error                                      { return nil }
