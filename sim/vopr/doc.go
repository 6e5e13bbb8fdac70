// Package vopr is a deterministic simulator of boxoffice's shell under
// faults, in the manner of TigerBeetle's VOPR and FoundationDB's
// simulation: one seed chooses a cluster (one node with its journal alone,
// one node with Redis, or two or three nodes with Redis and leases), a
// workload and a mix of faults, and the run replays exactly from it.
//
// What runs is production code: the show actor (actors.SteppedShow: the
// same Receive, the same writer step, the same activation and recovery
// logic, over an actors.Clock that is simulated), the seat map, the outbox
// relay (pipeline.Relay.Step) and the payment and notification consumers
// (pipeline.Payment, pipeline.Notify). What is simulated is everything
// around it, under one seeded, single-threaded scheduler (sched.go) with
// simulated time:
//
//   - the mailbox (protoactor's: FIFO, poison pill, receive timeout) and the
//     dispatcher's latency, sometimes slow;
//   - the disk: actors.MemJournal, which fails like Pebble (a failed write
//     is applied, then invisible until reopened), fails for a while or for
//     the next writes, and crashes keeping or losing its failed writes; or,
//     for one seed in four (chosen by a hash of the seed; -disk or VOPR_DISK
//     = mem or pebble forces it), the production journal itself
//     (actors.PebbleJournal over persistence/pebble) on
//     vfs.NewCrashableMem wrapped with errorfs (disk.go): a fault fails the
//     WAL write or the WAL sync of the next appends, or every WAL write for
//     a while; the store fails and the shell reopens it from the disk; a
//     crash reopens Pebble on a CrashClone of the disk that keeps all or
//     none of the unsynced data (a failed sync's batch, the only unsynced
//     data between steps). Pebble's goroutines do not change a seed's
//     outcome: see pebbleDisk;
//   - Redis: persistence/redis/redisfake (checked against redis-server),
//     per node: cut off, calls dropped, replies lost after applying, and
//     (one node) its last writes lost;
//   - the network between clients, nodes and Redis: delays, drops,
//     duplicated requests, lost answers; partitions that cut a node from
//     Redis and the other nodes but not from its clients;
//   - crashes and restarts at any step, fail-overs and moves of a show (two
//     activations of one show at once), clock jumps forward;
//   - a payment gateway that is idempotent by key and declines, times out,
//     or charges and loses its answer (succeeds late); a notification
//     channel that fails; events delivered twice.
//
// Clients (client.go) hold (specific seats, best available, general
// admission, by tier), release, extend, order, pay, cancel and read,
// retrying after a timeout or a 503 with the same idempotency key. The
// checker (model.go) records what each client was told and asserts, as
// answers arrive and every 200 steps on the owner's durable state: every
// acknowledged hold, release, order, pay and cancel is in the state of the
// activation that owns the show (after any crash and fail-over), reads
// agree with what was acknowledged before they started, the seat map's
// invariants hold (counters add up to capacity, no seat in two holds or
// orders) and Redis's read model matches. At the end every fault heals,
// the system settles, dead letters are retried as an operator would, and
// every charge must end in a paid order or a refund (never both), every
// paid order must have its charge, every paid, cancelled and expired order
// must be notified and no notification may be false.
//
// Every client operation is recorded with its invocation and response in
// simulated time (linear.go); at the end of a seed porcupine checks that the
// history is linearizable against a sequential model of a show as clients
// see it, partitioned by hold (the hold and the order made of it), by seat
// (GET seats) and by section (GET show's sold counter). An operation that
// got no answer (a timeout, a 503) may take effect at any later time or
// never; what the system does on its own (expiries, payment results,
// archiving) is a nondeterministic step of the model, bounded by the nodes'
// clocks. A failure lists the shortest prefix of the failing partition that
// no order explains and writes porcupine's HTML visualization to a
// temporary file.
//
// Every client call passes actors.KnownShow on its entry node, the gate of
// Booking's showCall, and the workload reads and writes under show ids
// nobody created (unknown.go): such an id must leave no activation, no call
// to an actor, no Redis key and nothing in any journal (issue 9, finding 8).
//
// Run: go test ./sim/vopr -run TestVOPR (-seeds N -steps N -disk D, or
// VOPR_SEEDS, VOPR_STEPS, VOPR_FIRST, VOPR_DISK); a failure prints its seed, its step
// and the last steps; replay one with -seed N, and print every step whose
// trace line contains a string with -grep (the shell's log lines are in
// the trace). make vopr runs 10^7 steps.
//
// Not simulated: the registry's storage (a map of the run's shows that
// fails while the node cannot reach Redis; RemoteRegistry's cache, which
// reads the wall clock, is not exercised), Pebble's flushes and compactions
// (none runs in a seed: the memtable is large and automatic compactions are
// off; persistence/pebble's tests cover them), a disk that is slow (a step
// cannot block), the stall guard of a journal write that hangs (a step cannot
// block), Booking and the HTTP edge (the clients build Booking's commands
// and follow its retry and archive rules), RocketMQ, WAIT replicas.
package vopr
