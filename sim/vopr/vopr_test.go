package vopr

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	flagSeed  = flag.Uint64("seed", 0, "replay this seed only")
	flagSeeds = flag.Int("seeds", 0, "how many seeds to run (default: VOPR_SEEDS or 40)")
	flagSteps = flag.Int64("steps", 0, "workload steps per seed (default: VOPR_STEPS or 25000)")
	flagTrace = flag.Int("lines", 120, "how many of the last steps a failure prints")
	flagGrep  = flag.String("grep", "", "print every step whose trace line contains this, as it runs")
	flagDisk  = flag.String("disk", "", "mem or pebble: every seed on that disk (default: VOPR_DISK, else Pebble for 1 seed in 4, from the seed)")
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

// TestVOPR simulates many seeds (each its own cluster, workload and fault
// mix) and fails with the seed, the step and a trace of the last steps on
// the first finding. Replay one: go test ./sim/vopr -run TestVOPR -seed N.
// VOPR_SEEDS, VOPR_STEPS and VOPR_FIRST (the first seed; default: from the
// clock) size a run.
func TestVOPR(t *testing.T) {
	steps := *flagSteps
	if steps == 0 {
		steps = envInt("VOPR_STEPS", 25_000)
	}
	var seeds []uint64
	if *flagSeed != 0 {
		seeds = []uint64{*flagSeed}
	} else {
		n := int64(*flagSeeds)
		if n == 0 {
			n = envInt("VOPR_SEEDS", 40)
		}
		first := uint64(envInt("VOPR_FIRST", 0))
		if first == 0 {
			first = rand.Uint64() >> 16
		}
		for i := int64(0); i < n; i++ {
			seeds = append(seeds, first+uint64(i))
		}
		t.Logf("seeds %d..%d (VOPR_FIRST=%d to run them again)", first, first+uint64(n)-1, first)
	}
	disk := *flagDisk
	if disk == "" {
		disk = diskFromEnv()
	}
	start := time.Now()
	var total int64
	byDisk := map[string]*diskTotal{}
	for _, seed := range seeds {
		res := Run(Options{Seed: seed, Steps: steps, TraceLines: *flagTrace, Grep: *flagGrep, Disk: disk, Runs: seed%2 == 1})
		total += res.Steps
		dt := byDisk[res.Disk]
		if dt == nil {
			dt = &diskTotal{}
			byDisk[res.Disk] = dt
		}
		dt.seeds++
		dt.steps += res.Steps
		dt.took += res.Duration
		if testing.Verbose() || res.Failure != "" {
			t.Logf("seed %d: %s, disk %s, %d steps, %v simulated in %v; %s", seed, res.Mode, res.Disk, res.Steps, res.SimTime.Round(time.Millisecond),
				res.Duration.Round(time.Millisecond), res.Stats)
		}
		if res.Failure != "" {
			t.Fatalf("seed %d failed at step %d: %s\n\nlast steps:\n%s\nreplay: go test ./sim/vopr -run TestVOPR -seed %d -disk %s",
				seed, res.Step, res.Failure, res.Trace, seed, res.Disk)
		}
	}
	el := time.Since(start)
	for _, k := range []string{DiskMem, DiskPebble} {
		if dt := byDisk[k]; dt != nil {
			t.Logf("disk %s: %d seeds, %d steps in %v: %.0f steps/s", k, dt.seeds, dt.steps, dt.took.Round(time.Millisecond), float64(dt.steps)/dt.took.Seconds())
		}
	}
	t.Logf("%d seeds, %d steps in %v: %.0f steps/s", len(seeds), total, el.Round(time.Millisecond), float64(total)/el.Seconds())
	fmt.Fprintf(os.Stderr, "VOPR: %d seeds, %d steps, %.0f steps/s\n", len(seeds), total, float64(total)/el.Seconds())
}

// regressionSteps is the workload length the regression seeds were found with.
const regressionSteps = 25_000

// regressions are seeds that catch a defect with the simulator as it is
// now: each fails when the fix named is reverted (checked by hand, one at
// a time). A change to the simulator or to the shell changes what a seed
// does, so a seed may stop catching its defect; the list is re-checked
// (and re-found, among seeds 1..N) then. Last re-found after the workload
// gained linearizability recording and unknown show ids.
//
// Defects no seed catches with the current workload (a sweep of seeds 1..N
// with the fix reverted found no failure); the unit tests pin them:
//   - an archived order was read from a local journal holding a history
//     Redis refused (Env.Archived local first; seeds 1..494):
//     actors.TestArchivedReadsRedisFirst
//   - a restarted node delivered the events of records Redis never
//     accepted (Env.DropUnaccepted doing nothing; seeds 1..400):
//     actors.TestDropUnacceptedBeforeTheRelay
//   - a redelivered success of an archived paid order was refunded
//     (SettlePayment without settledInArchive; seeds 1..263):
//     actors.TestRedeliveredSuccessOfArchivedOrderIsNotRefunded
//   - issue 9 finding 5 (a pay refused by the fence left its
//     payment_requested event for the relay, and a card was charged):
//     today two layers drop a refused batch's events (the writer aborts
//     them, and DropAfter removes the records and events after the seq
//     Redis accepted). Reverting the abort alone is no defect any more;
//     reverting both is caught by seed 16 below (and 3, 5, 8, 12, 30 ...:
//     broken recovery, counts off, orders never notified), but no seed of
//     1..~70 reached the charge itself: actors.TestFencedPayDoesNotCharge
//   - a failed journal was reopened only once a show loaded after the
//     failure: a recovery's own write failing just before its show moved
//     away (seed 182739296159656 on 5837d77: a paid order never notified,
//     its event left in the failed journal's outbox), or on the head a rows
//     checkpoint failing after a show's last command, left it failed for
//     good. The run now fails on a journal still failed after the drain:
//     seed 453 below catches the checkpoint case; no seed of 1..600 caught
//     the recovery case on b027c7f with the fix reverted:
//     actors.TestJournalReopensAfterRecoveryWriteFailed
var regressions = []struct {
	seed uint64
	what string
	disk string // DiskMem unless set
}{
	{78, "issue 9 finding 1: answers of commands applied to a failed generation's state were sent (the writer not failing a failed generation's later batches: a non-linearizable history)", ""},
	{3, "issue 9 finding 2: a failed recovery was never retried (the show stays broken after the drain; the read-back of a failed write was not re-checked with this workload)", ""},
	{1, "issue 9 findings 3-4: acknowledged without Redis, served on epoch 0 (an acknowledged order not in the owner's state)", ""},
	{38, "an activation after one whose Activate reply was lost restored from Redis without the events (lastWriter without st.Writer: an acknowledged order lost)", ""},
	{6, "a half-failed activation kept its lease (a release acknowledged, the hold still on the owner)", ""},
	{1, "events of records Redis accepted but no journal kept were lost on fail-over (a cancelled order whose user was never told)", ""},
	{94, "Redis data loss was not recognised after a lost epoch INCR handed the same counter out again (an acknowledged order read as show_not_found)", ""},
	{490, "a failed journal was reopened only when a show asked: after the node's shows moved away its relay never delivered again (a charge neither paid nor refunded)", ""},
	{2, "issue 9 finding 8: an unknown show id activated an actor (KnownShow letting unknown ids through): an epoch in Redis and in the journal, a call to the actor", ""},
	{16, "issue 9 finding 5 and the fail-closed writes: a batch Redis refused kept its records and events (the writer neither aborting its events nor dropping after the accepted seq): a seat in two holds", ""},
	{33, "a restarted node refused to start: its fake journal's state rows were newer than its acked seq, refused unlike Pebble's (the drop after the rows: TestDropUnacceptedAfterNewerRows)", ""},
	{453, "a failed journal was reopened only once a show loaded: the rows checkpoint of a show moving away failed after its last write, and the node's journal stayed failed (its relay never delivered its outbox again; TestJournalReopensAfterCheckpointFailed)", ""},
	{74017701984531, "on Pebble: a write of the relay (AckOutbox) failed the store of a node owning no show, and nothing reopened it: only the shell's own journal calls started the reopen, so the node's outbox was never delivered again (the store's OnFail: TestJournalReopensAfterRelayWriteFailed)", DiskPebble},
	{1046, "on Pebble: a failed SetLocalEpoch deleted the show's local epoch on reopen, so recovery trusted a Redis that had lost acknowledged records (TestReopenRestoresOverwrittenValue)", DiskPebble},
	{244629668889926, "on Pebble: an order archived again (its show restored from Redis to a state before its archive record, the local copy failing half-way) in a batch whose sync failed: reopen deleted its durable local archive, and once Redis lost its copy the acknowledged order was gone (TestReopenRestoresValueOverwrittenByCommitPut, TestFailedReArchiveKeepsArchivedOrder)", DiskPebble},
	{9012426658160, "an acknowledged hold lost: activations of the node that wrote nothing made the next one restore its own history from Redis, dropping the local show first; the append of Redis's record after its rows failed, and with Redis then unreachable the show served reads from the older local state (the restore never leaving the local journal behind what it acknowledged, no restore of the history the local journal holds, no read-only serving behind the acked seq: TestRestoreFromRedisWriteFailedKeepsAckedHold, TestReadOnlyActivationBehindAckedServesNothing)", ""},
}

// TestVOPRRegressions runs the regression seeds.
func TestVOPRRegressions(t *testing.T) {
	if *flagSeed != 0 {
		t.Skip("replaying one seed")
	}
	for _, r := range regressions {
		disk := r.disk
		if disk == "" {
			disk = DiskMem
		}
		res := Run(Options{Seed: r.seed, Steps: regressionSteps, TraceLines: *flagTrace, Disk: disk})
		if res.Failure != "" {
			t.Errorf("regression seed %d (%s) failed at step %d: %s\n\nlast steps:\n%s\nreplay: go test ./sim/vopr -run TestVOPR -seed %d -steps %d -disk %s",
				r.seed, r.what, res.Step, res.Failure, res.Trace, r.seed, regressionSteps, disk)
		}
	}
}

// diskTotal sums the seeds of one disk kind, for steps/s by disk.
type diskTotal struct {
	seeds int
	steps int64
	took  time.Duration
}

// TestVOPRIngestsRestoredCopies: the simulator drives the copy of a show
// restored from Redis through the Pebble store's ingest (sstables written
// and ingested, pebble.Store.IngestState) under its faults and crashes, and
// the seed's checks pass. A seed with Redis whose world ingests from 1 row
// (ingestMinRows). It ingested none while the simulator's journal wrapper
// hid the disk's SaveSortedState (every copy went as one batch). In a batch
// of 150 seeds it once stalled for ever in its seventh ingest (Pebble's
// write stall on L0's depth, which no compaction ends in the simulator; run
// alone it did not: when Pebble's background flushes end is not the seed's),
// hence pebbleTune's L0StopWritesThreshold and the limit here.
func TestVOPRIngestsRestoredCopies(t *testing.T) {
	if *flagSeed != 0 {
		t.Skip("replaying one seed")
	}
	const seed = 91907836354961 // 2 nodes + redis + leases
	const stallLimit = 2 * time.Minute
	done := make(chan Result, 1)
	go func() {
		done <- Run(Options{Seed: seed, Steps: regressionSteps, TraceLines: *flagTrace, Disk: DiskPebble})
	}()
	var res Result
	select {
	case res = <-done:
	case <-time.After(stallLimit):
		t.Fatalf("seed %d did not end within %s (a stalled journal call?)", seed, stallLimit)
	}
	if res.Failure != "" {
		t.Fatalf("seed %d failed at step %d: %s\n\nlast steps:\n%s", seed, res.Step, res.Failure, res.Trace)
	}
	if res.Ingests == 0 {
		t.Fatalf("seed %d ingested no restored copy: %s", seed, res.Stats)
	}
	t.Logf("seed %d: %d restored copies ingested; %s", seed, res.Ingests, res.Stats)
}

// TestVOPRReleasesWorlds: a seed's end ends its procs and closes its nodes'
// Pebble stores, so seeds run one after another in one process leave no
// goroutines behind (a parked proc kept its whole world alive, and each open
// store its Pebble goroutines: a batch of 550 Pebble seeds grew to 24 GB).
func TestVOPRReleasesWorlds(t *testing.T) {
	if *flagSeed != 0 {
		t.Skip("replaying one seed")
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	const seeds = 4
	for seed := uint64(91907836354961); seed < 91907836354961+seeds; seed++ {
		if res := Run(Options{Seed: seed, Steps: 3000, Disk: DiskPebble}); res.Failure != "" {
			t.Fatalf("seed %d failed at step %d: %s", seed, res.Step, res.Failure)
		}
	}
	var after int
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		runtime.GC()
		if after = runtime.NumGoroutine(); after-before <= seeds || time.Now().After(end) {
			break
		}
	}
	if after-before > seeds {
		t.Fatalf("%d goroutines before %d Pebble seeds, %d after: their worlds live on", before, seeds, after)
	}
	t.Logf("%d goroutines before %d Pebble seeds, %d after", before, seeds, after)
}
