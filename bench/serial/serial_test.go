package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

const show = "hot"

// placement resolves the one show to its one actor.
type placement struct{ pid *actor.PID }

func (p placement) PID(string, string) (*actor.PID, error) { return p.pid, nil }
func (p placement) Forget(string, string, *actor.PID)      {}
func (p placement) Local(*actor.PID) bool                  { return true }

// node is one in-process boxoffice node serving the show.
type node struct {
	sys   *actor.ActorSystem
	env   *actors.Env
	store *pebble.Store
	pid   *actor.PID
	book  *actors.Booking
}

func startNode(b *testing.B, dir string) *node {
	b.Helper()
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := &node{sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log })), store: st}
	n.env = &actors.Env{Journal: actors.NewPebbleJournal(st), Log: log, Registry: actors.KVRegistry{Store: st}}
	n.pid = n.sys.Root.Spawn(actors.ShowProps(n.env, show))
	n.book = actors.NewBooking(placement{n.pid}, n.sys, n.env, actors.BookingOptions{RequestTimeout: 30 * time.Second})
	return n
}

func (n *node) stop(b *testing.B) {
	b.Helper()
	_ = n.sys.Root.StopFuture(n.pid).Wait()
	n.env.WaitWriters(10 * time.Second)
	n.sys.Shutdown()
	if err := n.store.Close(); err != nil {
		b.Fatal(err)
	}
}

func config() seatmap.ShowConfig {
	return seatmap.ShowConfig{ID: show, Name: "hot show", HoldTTLSeconds: seatmap.MaxHoldTTLSeconds,
		Tiers:    []seatmap.Tier{{ID: "ga", Price: 3000}},
		Sections: []seatmap.Section{{ID: "ga", Tier: "ga", Capacity: 10_000_000}}}
}

func callerCounts(b *testing.B) []int {
	v := os.Getenv("SERIAL_CALLERS")
	if v == "" {
		return []int{64, 1024}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("SERIAL_CALLERS: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out
}

// releasing reports SERIAL_RELEASE: each caller releases its hold once it
// has it, as the HTTP load does (bench-hot), so that the show also keeps
// the memory of released ids.
func releasing() bool { return os.Getenv("SERIAL_RELEASE") != "" }

func seconds() time.Duration {
	if v, err := strconv.ParseFloat(os.Getenv("SERIAL_SECONDS"), 64); err == nil && v > 0 {
		return time.Duration(v * float64(time.Second))
	}
	return 4 * time.Second
}

func rounds() int {
	if v, err := strconv.Atoi(os.Getenv("SERIAL_ROUNDS")); err == nil && v > 0 {
		return v
	}
	return 3
}

// BenchmarkSerial runs one show under each caller count (SERIAL_CALLERS),
// the counts alternated for SERIAL_ROUNDS rounds, and reports each run's
// serial path CPU per command and the rest (see doc.go), then the median of
// each count's runs: this machine's speed moves by a fifth within minutes,
// so a count's single run says less than the median of runs alternated
// with the other's.
func BenchmarkSerial(b *testing.B) {
	actors.TuneGC() // as boxoffice serve runs
	counts, n := callerCounts(b), rounds()
	got := make(map[int][]float64, len(counts))
	for r := 1; r <= n; r++ {
		for _, callers := range counts {
			name := "callers=" + strconv.Itoa(callers)
			if n > 1 {
				name += ",round=" + strconv.Itoa(r)
			}
			b.Run(name, func(b *testing.B) {
				if b.N > 1 {
					b.Skip("one run per caller count and round: use -benchtime 1x")
				}
				got[callers] = append(got[callers], run(b, callers))
			})
		}
	}
	if n > 1 {
		fmt.Print(summary(counts, got))
	}
}

// summary reports the median serial path CPU per command of each caller
// count over its rounds, with the runs it is the median of.
func summary(counts []int, got map[int][]float64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nserial path CPU, µs/command, median of the alternated rounds:\n")
	med := make(map[int]float64, len(counts))
	for _, c := range counts {
		runs := got[c]
		if len(runs) == 0 {
			continue
		}
		med[c] = median(runs)
		fmt.Fprintf(&sb, "  %5d callers: %.2f (runs: %s)\n", c, med[c], joinFloats(runs))
	}
	if len(counts) == 2 && med[counts[0]] > 0 && med[counts[1]] > 0 {
		fmt.Fprintf(&sb, "  %d callers / %d callers: %.2f\n", counts[1], counts[0], med[counts[1]]/med[counts[0]])
	}
	return sb.String()
}

// median returns the median of v (the mean of the middle two when even).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

// snapshot is the counters at one instant.
type snapshot struct {
	at                          time.Time
	cpu                         time.Duration // process user + system
	holds                       int64
	commands                    int64
	actorNs, writerNs, appendNs int64
	groups, batches, replies    int64
	runs, runRequests           int64
	turns                       int64 // show mailbox turns
}

func take(n *node, holds *atomic.Int64) snapshot {
	s := n.env.Stats
	return snapshot{at: time.Now(), cpu: processCPU(), holds: holds.Load(), commands: s.Commands.Load(),
		actorNs: s.ActorNanos.Load(), writerNs: s.WriterNanos.Load(), appendNs: s.WriterAppendNanos.Load(),
		groups: s.WriterGroups.Load(), batches: s.WriterBatches.Load(), replies: s.WriterReplies.Load(),
		runs: s.Runs.Load(), runRequests: s.RunRequests.Load(), turns: actors.MailboxTurns()}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run measures one show under callers and returns its serial path CPU per
// command (µs).
func run(b *testing.B, callers int) float64 {
	ctx := context.Background()
	n := startNode(b, b.TempDir())
	defer n.stop(b)
	if _, err := n.book.CreateShow(ctx, config()); err != nil {
		b.Fatal(err)
	}
	var holds, next atomic.Int64
	var stop atomic.Bool
	release := releasing()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1)
				req := seatmap.HoldRequest{Show: show, User: "u" + strconv.FormatInt(i, 10), Section: "ga", Quantity: 1}
				h, _, err := n.book.Hold(ctx, req)
				if err != nil {
					if errors.Is(err, seatmap.ErrUnavailable) {
						time.Sleep(10 * time.Millisecond) // as a client retries a 503
						continue
					}
					errs <- fmt.Errorf("hold %d: %w", i, err)
					return
				}
				holds.Add(1)
				for release {
					err := n.book.ReleaseHold(ctx, req.User, show, h.ID)
					if errors.Is(err, seatmap.ErrUnavailable) {
						time.Sleep(10 * time.Millisecond) // retried, as the hold
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("release %d: %w", i, err)
						return
					}
					break
				}
			}
		}()
	}
	time.Sleep(time.Second) // warm up: stacks grown, batches at their size
	prof := startProfiles(b, callers)
	b.ResetTimer()
	s0 := take(n, &holds)
	time.Sleep(seconds())
	s1 := take(n, &holds)
	b.StopTimer()
	cpuByLabel := prof.stop(b)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return report(b, callers, s0, s1, cpuByLabel)
}

// report prints and reports one run's figures and returns its serial path
// CPU per command (µs).
func report(b *testing.B, callers int, s0, s1 snapshot, cpu map[string]time.Duration) float64 {
	cmds := float64(s1.commands - s0.commands)
	if cmds == 0 {
		b.Fatal("no commands in the window")
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / cmds }
	wall := s1.at.Sub(s0.at)
	actorCPU, writerCPU := cpu[actors.SerialActor], cpu[actors.SerialWriter]
	var profiled time.Duration
	for _, d := range cpu {
		profiled += d
	}
	fmt.Printf("profile: %s sampled of %s process CPU\n", profiled, s1.cpu-s0.cpu)
	groups := float64(max(s1.groups-s0.groups, 1))
	what := "holds"
	if releasing() {
		what = "holds, each released"
	}
	fmt.Printf("\nserial (%d callers, %s, GOMAXPROCS %d, %s): %.0f holds/s; serial path CPU %.2f µs/command (actor %.2f + writer %.2f; beside it: answer fan-out %.2f, rows checkpoint %.2f, record encoding %.2f);"+
		" process CPU %.1f µs/command; wall on the path: actor %.2f, writer %.2f (of which Journal.Append %.2f) µs/command;"+
		" %.1f commands in %.1f batches per writer group; %.2f mailbox turns a command; %.2f of the commands came in runs of %.1f\n",
		callers, what, runtime.GOMAXPROCS(0), wall.Round(time.Millisecond), float64(s1.holds-s0.holds)/wall.Seconds(),
		per(actorCPU+writerCPU), per(actorCPU), per(writerCPU), per(cpu[actors.SerialAnswers]), per(cpu[actors.SerialCheckpoint]),
		per(cpu[actors.SerialEncode]), per(s1.cpu-s0.cpu),
		per(time.Duration(s1.actorNs-s0.actorNs)), per(time.Duration(s1.writerNs-s0.writerNs)),
		per(time.Duration(s1.appendNs-s0.appendNs)),
		float64(s1.replies-s0.replies)/groups, float64(s1.batches-s0.batches)/groups, float64(s1.turns-s0.turns)/cmds,
		float64(s1.runRequests-s0.runRequests)/cmds, float64(s1.runRequests-s0.runRequests)/float64(max(s1.runs-s0.runs, 1)))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(s1.holds-s0.holds)/wall.Seconds(), "holds/s")
	b.ReportMetric(per(actorCPU+writerCPU), "serial-cpu-µs/cmd")
	b.ReportMetric(per(actorCPU), "actor-cpu-µs/cmd")
	b.ReportMetric(per(writerCPU), "writer-cpu-µs/cmd")
	b.ReportMetric(per(cpu[actors.SerialAnswers]), "answers-cpu-µs/cmd")
	b.ReportMetric(per(cpu[actors.SerialCheckpoint]), "checkpoint-cpu-µs/cmd")
	b.ReportMetric(per(cpu[actors.SerialEncode]), "encode-cpu-µs/cmd")
	b.ReportMetric(per(s1.cpu-s0.cpu), "process-cpu-µs/cmd")
	b.ReportMetric(per(time.Duration(s1.actorNs-s0.actorNs)), "actor-wall-µs/cmd")
	b.ReportMetric(per(time.Duration(s1.writerNs-s0.writerNs)), "writer-wall-µs/cmd")
	b.ReportMetric(float64(s1.replies-s0.replies)/groups, "cmds/group")
	b.ReportMetric(float64(s1.turns-s0.turns)/cmds, "turns/cmd")
	return per(actorCPU + writerCPU)
}

// profiles are the CPU, block and mutex profiles of one run.
type profiles struct {
	cpu    bytes.Buffer
	prefix string
}

func startProfiles(b *testing.B, callers int) *profiles {
	p := &profiles{}
	if pre := os.Getenv("SERIAL_PROFILE"); pre != "" {
		p.prefix = pre + "-" + strconv.Itoa(callers)
		runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
		runtime.SetMutexProfileFraction(10)
	}
	// the default rate (100 Hz): at 1 kHz this machine's kernel dropped
	// about 4 samples in 5 (measured), at 100 Hz the samples cover about
	// 0.85 of the process CPU (getrusage): the report prints the coverage
	if err := pprof.StartCPUProfile(&p.cpu); err != nil {
		b.Fatal(err)
	}
	return p
}

// stop ends the profiles, writes them when asked, and returns the CPU time
// of the samples per value of actors.SerialLabel ("" for the unlabelled).
func (p *profiles) stop(b *testing.B) map[string]time.Duration {
	pprof.StopCPUProfile()
	if p.prefix != "" {
		if err := os.WriteFile(p.prefix+"-cpu.pprof", p.cpu.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"block", "mutex"} {
			var buf bytes.Buffer
			if err := pprof.Lookup(name).WriteTo(&buf, 0); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p.prefix+"-"+name+".pprof", buf.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}
	out, err := cpuByLabel(p.cpu.Bytes(), actors.SerialLabel)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
