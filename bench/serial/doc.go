// Package serial is the serial-path benchmark of issue 12 ("one hot show
// takes everything the machine can give"): the CPU time a show's serial
// path (its actor's mailbox turns and its writer goroutine) spends per
// command, at 64 and at 1,024 concurrent callers.
//
// It drives the node's real in-process path, as bench/fill does: Booking
// (ids, routing) → the show's actor → its writer → a synced Pebble store in
// a temporary directory. Each caller holds one general-admission seat for a
// fresh user, in a closed loop. The serial path is measured two ways over
// the same window:
//
//   - CPU, by a CPU profile (100 Hz) whose samples carry the pprof label
//     actors.SerialLabel: the show actors' dispatcher goroutines and the
//     writers are labelled, so their samples are the serial path's CPU time,
//     wherever the goroutine ran and excluding the time it was blocked
//     (waiting for the WAL sync, for its mailbox); the writers' answerers
//     (they send the answers of durable batches beside the writer) and
//     their checkpointers (they write the state rows of durable batches,
//     sorted, every 16,384 rows or 1 s) and the goroutines that encode a
//     batch's records for the journal (label "encode") are reported apart;
//   - wall time on the path, by the stopwatches of actors.Stats: time inside
//     the actor's Receive, and the writer's time per group (encode, commit
//     including the wait for the sync, answers).
//
// Alongside: the process CPU per command (getrusage), holds/s, the mean
// commands and actor batches per writer group, the show mailboxes' turns
// per command (a turn is a dispatcher wake-up and a park:
// actors.MailboxTurns), and the share of commands that reached the actor in
// runs (requests queued back to back, handed over as one message:
// actors/mailbox.go) with the mean run.
//
// Run: make bench-serial (go test -run '^$' -bench Serial -benchtime 1x
// ./bench/serial/). SERIAL_CALLERS (default 64,1024), SERIAL_ROUNDS (rounds
// of the counts alternated, default 3; then the median of each count's
// runs), SERIAL_SECONDS (measured seconds per run, default 4), SERIAL_RELEASE=1 makes each caller
// release its hold once it has it (a hold and a release a loop, as bench-hot's
// HTTP load: two commands), SERIAL_PROFILE=prefix writes the
// CPU, block and mutex profiles of each count's last run to
// prefix-<callers>-{cpu,block,mutex}.pprof. Callers' duties: none.
package serial
