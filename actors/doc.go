// Package actors is the shell around the pure seat map: one protoactor actor
// per show (cluster kind "show", identity = the show id), its writer, and
// Booking, the client that routes API calls to those actors.
//
// The show actor owns one seatmap.Shard (the whole show) and is its only
// writer. For each mailbox turn it (1) applies every queued command to the
// pure core, (2) hands the turn's records (facts: what was decided), outbox
// events, archived orders and the state rows earlier turns changed to the
// show's writer (writer.go), and (3) arms one timer for the core's next
// deadline. A self-addressed flush message marks the end of a turn: every
// command that arrived before it is in the batch, so under load a batch
// carries hundreds of commands. The writer group-commits batches to the
// Journal (one synced Pebble batch), checkpoints them to Redis under the
// activation's epoch when --redis is on (remote.go), and only then has the
// batch's inventory events published to the show's stream (package stream)
// and its commands answered, in that order, by its answerer goroutine. Any
// failure of a write is reported to the actor
// as one writeFailed message: the actor answers every command of the failed
// generation 503 and reloads from what is durable (show_actor.go).
//
// Nothing on a turn costs the size of the show: the state is checkpointed as
// the rows each turn changed (writer.go, rowSlots), never as a whole
// snapshot, and the seat view copies the chunks of seats that changed.
//
// A show's serial path (its actor's turns and its writer) does what must be
// serial: applying commands and ordering the batch, committing it. Beside
// it, on goroutines of their own: a batch's records and the values of its
// hold rows are encoded for the journal and Redis (encode.go; the actor
// takes a Shard.ReadyDeferred), its answers are sent (the writer's
// answerer) and the state rows it changed are written (the checkpointer,
// which, without Redis, writes nothing for a key made and deleted within one
// of its writes: a hold placed and released meanwhile; facts.Row.New,
// mergeSlots). The answerer hands each group's reply slice back, cleared,
// for a later group (writer.spare): the actor seldom allocates one.
//
// A show actor's mailbox (mailbox.go) hands it the in-process requests
// queued back to back as one run: the per-message costs are paid once per
// run, and the run's hash-index words are loaded, all their misses in
// flight together, before its first command applies
// (seatmap.Shard.TouchRun). A turn that emptied the mailbox yields its
// goroutine once before it ends, so that callers made runnable meanwhile
// (by the answers of a durable group) post into the same turn: a busy show
// takes its commands in runs instead of one turn, wake-up and park each.
//
// A call to a show in this process waits on its reply channel with a plain
// receive; one reaper goroutine (localcall.go), running while calls wait,
// wakes those past their deadline or whose activation died unanswered, and
// a request sent to an activation already gone wakes its caller from the
// dead letters (NewBooking subscribes to the system's event stream). No
// node-wide counter or lock that every call writes is left on the path
// (issue 12); a show's own in-flight count remains (MaxInflight).
//
// A show's waiting room and waitlist are part of its seat map's state
// (seatmap/room.go): they live in the show's actor, are journaled and fenced
// with the show, and move with it on a failover. Booking's JoinQueue,
// QueueTicket, JoinWaitlist, WaitlistEntry and LeaveWaitlist reach them like
// any other command (booking_room.go).
//
// Callers' duties, in order:
//
//  1. Build an Env (journal, optional Remote and Leaser, registry, streams)
//     and start a cluster node (package cluster) with Kind(env) registered.
//  2. Build a Booking over that node; call Booking.Recover to activate every
//     show the journal knows, so timers run and /readyz can turn ready.
//  3. Use Booking from any goroutine (it is safe for concurrent use). Commands
//     are idempotent by the ids Booking generates, so a retried request never
//     creates a second hold or order.
//  4. On shutdown, hand shows over (Env.HandOver) or stop them
//     (Env.StopShards), then wait for the writers (Env.WaitWriters) before
//     closing the journal.
package actors
