// Package redis is boxoffice's remote checkpoint and fleet-wide state in
// Redis (a single server or Redis Cluster), through go-redis v9 and Lua
// scripts.
//
// Show shard actors journal to the node's Pebble store; this package keeps a
// second copy of each shard's journal and snapshot in Redis, so that a shard
// whose node lost its disk, or that moved to another node, resumes from
// Redis, and so that an old activation that wakes up late can never write
// over a newer one (fencing). It also keeps each shard's seat counts as a
// read model and a fleet-wide token bucket rate limiter.
//
// # What it guarantees
//
//   - Activate takes a new epoch for a shard; from then on only checkpoints
//     carrying exactly that epoch are applied. Older epochs get ErrFenced, and
//     so do epochs Redis does not know (it lost data): the low 20 bits of an
//     epoch are random, so two activations differ (but for a one in a
//     million chance) even if Redis lost data and repeated a counter.
//   - Each checkpoint is one atomic script: epoch check, sequence check,
//     journal append, seq, optional snapshot (which trims the journal) and
//     counts, all or nothing. A checkpoint that does not continue the stored
//     seq is refused with *GapError, which says where Redis is. (A checkpoint
//     too large for one call is split into consecutive calls; they apply as
//     a prefix: once one is refused, the later ones are refused too.)
//   - A checkpoint resent by the activation that wrote it (after a timeout or
//     connection error whose outcome was unknown) is recognised by its seqs
//     and skipped, so retries are safe.
//   - Apply sends many shards' checkpoints in one pipelined round trip per
//     Redis node (EVALSHA). Scripts are loaded at Open and reloaded, and the
//     affected calls retried, after NOSCRIPT (Redis restarted or SCRIPT
//     FLUSH).
//   - Load reads epoch, seq, snapshot and journal in one script: a
//     consistent view.
//   - Healthy reports whether Redis answers; a background loop PINGs with
//     backoff while it does not.
//
// # Callers' duties
//
//   - Activate before the first checkpoint of an activation, then load the
//     newest of {local store, Load} and serve only from there.
//   - One writer per shard at a time, checkpoints in seq order. On ErrFenced
//     stop serving the shard. On *GapError catch up: resend the entries after
//     GapError.Have, or a snapshot alone if they are gone, then continue.
//   - Send snapshots often enough to bound the journal: Redis keeps every
//     entry after the last snapshot, and Load returns them all in one reply.
//   - While !Healthy(), queue checkpoints instead of calling Apply: a Redis
//     that does not answer at all (no RST) makes each call wait DialTimeout.
//     On recovery, resend them in seq order (GapError tells where to start).
//   - On Redis Cluster, a slot migration in the middle of a pipeline may
//     reorder one shard's calls; the later one then fails with a GapError
//     and the caller's catch-up resends it.
//   - Redis persistence is Redis's configuration: with appendfsync everysec a
//     machine crash may lose the last second (a killed redis-server loses
//     nothing), and a Redis without persistence loses everything on restart.
//     The next Apply then reports a GapError, or ErrFenced if the Activate
//     was lost (activate again), and the caller catches up from its local
//     store.
//
// # Key layout
//
// A shard "SHOW/N" lives under the hash tag {show:SHOW:shard:N} so that all its
// keys are in one Redis Cluster slot:
//
//	{show:SHOW:shard:N}:meta    hash: ctr nonce (epoch), snapseq, wctr wnonce (last writer), countsseq
//	{show:SHOW:shard:N}:snap    string: the newest snapshot
//	{show:SHOW:shard:N}:log     list: journal entries snapseq+1 .. seq; seq = snapseq + its length
//	{show:SHOW:shard:N}:counts  hash: read model
//	ratelimit:KEY               hash: token bucket (t tokens, ts ms)
//
// # Limits
//
// Redis runs one script at a time, so one call blocks every other client
// for its duration (about 1 ms per MB copied). Apply splits a checkpoint's
// entries into calls of at most Options.MaxEntriesPerCall entries and
// Options.MaxBytesPerCall bytes (defaults 4096, 4 MiB); a snapshot travels
// whole in one call (Redis accepts up to 512 MB per argument; a 1M-seat
// show's snapshot is a few MB). Epoch counters and seqs must stay below 2^53
// (Lua numbers).
package redis
