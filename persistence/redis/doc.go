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
//   - Load reads epoch, seq, snapshot and journal in one script, then the
//     state rows: the 32 buckets whole (HGETALL, four at a time: a third of
//     the CPU HSCAN costs redis-server a row; a bucket of over 131,072 rows,
//     or whose HGETALL timed out, by HSCAN in chunks; metric buckets_read),
//     and rows still in the one hash of the layout before buckets by HSCAN
//     in chunks; then it checks nothing was written meanwhile: a consistent
//     view (a row HSCAN returns twice must have one value; Load drops such
//     repeats, LoadRows counts the rows instead and answers
//     ErrChangedWhileRead when the read returned more than the hashes held,
//     indexing its scans for a while after: metric scan_repeats). A
//     counted scan of a big hash runs as four parts of HSCAN's walk at once
//     (a cursor's low bits are the walk's top bits), their rows handed one
//     chunk at a time, the chunk that crossed into the next part without
//     the rows that part read (metric scan_parted).
//     LoadRows is Load that hands each row over as it arrives (named rows
//     first), for a caller that builds the state meanwhile; a
//     write during the read answers ErrChangedWhileRead (read again). Each
//     round trip is bounded by ReadTimeout, not the read as a whole (callers
//     bound a read by its progress: a big show on a loaded node takes long);
//     a chunk that timed out is asked for again from its cursor, a quarter
//     as big, up to 4 times, keeping the rows read (metric scan_retries).
//     LoadMeta reads where a shard is, without its state.
//   - Seed replaces a shard's whole state by rows, staged over several calls
//     and swapped in by one, under the epoch check.
//   - A checkpoint's Archive (terminal orders by id) is written by the same
//     script, under the same epoch and seq checks: stored only if the
//     checkpoint is accepted. Archived reads one.
//   - RegisterShow stores a show's configuration once (SET NX); ShowConfig
//     reads it, so an unknown show id costs one GET and creates nothing.
//   - Healthy reports whether Redis answered the last health PING: the
//     client PINGs every HealthInterval (200 ms) with its own ProbeTimeout
//     (300 ms), and with backoff (100 ms to 500 ms) while Redis does not
//     answer. A connection error, or a call that timed out after waiting
//     ProbeTimeout or more, marks it unhealthy at once; only a PING marks it
//     healthy again. A Redis that stops answering (partition, SIGSTOP, a
//     stalled host: TCP connects may still succeed) is unhealthy within
//     about 0.5 s, and healthy again about 0.5 s after it answers. While
//     unhealthy every call fails at once with ErrUnavailable, sending
//     nothing.
//   - A call ends at its context's deadline or after the Read/WriteTimeout
//     (500 ms; go-redis retries a failed round trip once, MaxRetries),
//     whichever comes first.
//
// # Durability: what each setting survives
//
//   - WaitReplicas 0 (default): a checkpoint is acknowledged once the
//     primary ran it. A killed redis-server loses nothing; a machine crash of
//     the primary can lose up to about 1 s (appendfsync everysec); a
//     failover to a replica loses what the replica had not received yet.
//   - WaitReplicas n > 0: after the checkpoints, Apply runs WAIT n
//     WaitTimeout (100 ms) on the same connection; a checkpoint is
//     acknowledged (nil) only if n replicas had it. It then survives the
//     loss of the primary when one of those replicas is promoted (Sentinel,
//     or a manual failover). Otherwise it gets ErrNotReplicated: it is on
//     the primary but a failover may lose it. WAIT does not make anything
//     fsynced, and replication is asynchronous: a failover may still pick a
//     replica that did not acknowledge. Not supported on Redis Cluster.
//
// # Callers' duties
//
//   - Activate before the first checkpoint of an activation, then load the
//     newest of {local store, Load} and serve only from there.
//   - One writer per shard at a time, checkpoints in seq order. On ErrFenced
//     stop serving the shard. On *GapError catch up: resend the entries after
//     GapError.Have, or a snapshot alone if they are gone, then continue.
//     Have below what Redis acknowledged means Redis lost data (BEHIND);
//     Have beyond it with GapError.LastWriter == the caller's epoch means a
//     reply was lost after Redis applied a checkpoint (AHEAD under the
//     caller's own epoch: Redis has those entries). A resend overlapping
//     what the same activation already stored is skipped, not a gap.
//   - An Activate whose reply was lost may be retried: the retry returns a
//     newer epoch and the unseen one is fenced.
//   - Give calls short contexts (the checkpoint path: a few hundred ms). A
//     call that timed out or failed on the network may or may not have been
//     applied, even later (a stalled Redis runs what it had buffered when it
//     resumes): resend it, a retry is recognised.
//   - With WaitReplicas, on ErrNotReplicated decide: accept the weaker
//     guarantee, or keep the checkpoint pending and resend it (a recognised
//     retry, WAIT again) until it is acknowledged.
//   - Bound the journal: Redis keeps every entry after the last snapshot or
//     state rows (Checkpoint.Rows, RowsSeq), and Load returns them all in one
//     reply. State rows cost what changed; a whole snapshot costs the state.
//   - Checkpoints that carry rows need a shard without a whole snapshot: Seed
//     its whole state as rows first (ErrWholeSnapshot tells).
//   - While !Healthy() (or on ErrUnavailable), queue checkpoints instead of
//     calling Apply; on recovery, resend them in seq order (GapError tells
//     where to start).
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
// One actor per show: a shard identity is a show id ID (1 to 64 of
// [A-Za-z0-9._-]) and lives under the hash tag {show:ID}, so that all its
// keys are in one Redis Cluster slot (the older form "SHOW/N" lives under
// {show:SHOW:shard:N}, with the same suffixes but :config):
//
//	{show:ID}:meta     hash: ctr nonce (epoch), snapseq, wctr wnonce (last writer), countsseq, evseq
//	{show:ID}:snap     string: a whole snapshot at snapseq (the format before state rows)
//	{show:ID}:rows:BB  hashes, BB 00 to 31: state rows (row key -> value), each in bucket
//	                   FNV-1a(key) mod 32: the state at snapseq, kept incrementally
//	{show:ID}:stage:BB hashes: rows of a whole state being seeded (Seed), by bucket, renamed
//	                   into rows:BB at the end
//	{show:ID}:rows     string, set by every activation (a hash of state rows before buckets,
//	                   which the activation renames to rows:old): a version before buckets
//	                   fails on it (WRONGTYPE) rather than read a state without the buckets
//	{show:ID}:rows:old hash: state rows of the layout before buckets: read, emptied by every
//	                   write of its rows (a row is in it or in its bucket), dropped by Seed
//	{show:ID}:stage    hash: a Seed's stage of that layout: dropped by Seed
//	{show:ID}:log      list: journal entries snapseq+1 .. seq; seq = snapseq + its length
//	{show:ID}:counts   hash: read model
//	{show:ID}:archive  hash: order id -> terminal order (JSON)
//	{show:ID}:config   string: the show's registered configuration
//	ratelimit:KEY      hash: token bucket (t tokens, ts ms)
//	boxoffice:shows    set: every registered show id
//
// Webhooks (webhooks.go; actors/pipeline.Webhooks with Shared) live under
// the one hash tag {boxoffice:webhooks}, so that a script may check a
// registration while it writes a delivery record, on Redis Cluster too:
//
//	{boxoffice:webhooks}:reg    hash: webhook id -> registration JSON, with its signing secret
//	{boxoffice:webhooks}:ver    string: random token, changed by every registration change
//	{boxoffice:webhooks}:d:ID   hash: delivery id -> delivery record JSON
//	{boxoffice:webhooks}:t:ID   zset: delivery id -> created (Unix ms), to keep the newest N
//
// # Limits
//
// Redis runs one script at a time, so one call blocks every other client
// for its duration (about 1 ms per MB copied). Apply splits a checkpoint's
// entries, then its archive, into calls of at most Options.MaxEntriesPerCall
// items and Options.MaxBytesPerCall bytes (defaults 4096, 4 MiB); a snapshot travels
// whole in one call (Redis accepts up to 512 MB per argument; a 1M-seat
// show's snapshot is a few MB). Epoch counters and seqs must stay below 2^53
// (Lua numbers).
package redis
