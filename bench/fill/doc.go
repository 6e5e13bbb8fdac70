// Package fill is the fill benchmark of issue 11: one show (a GA section of
// 2,000,000 and a seated section of 200,000) that clients fill with holds
// that are never released until 1,000,000 are live, measured per 100,000
// holds (throughput, p50, p99, p99.9, max), with the memory per live hold and
// the time to recover the full show from Pebble and from Redis alone (with
// redis-server's own CPU meanwhile and whether an AOF rewrite ran beside it;
// then once more after any rewrite ended).
//
// It drives the real node path in process: Booking (ids, routing) → the
// show's actor → its writer → a synced Pebble store on disk (and, in the
// redis run, Redis checkpoints through a real redis-server), with 64 callers
// in a closed loop, as 64 HTTP connections would be. The HTTP edge is not
// in it (its cost does not grow with the show; bench-http measures it).
//
// Per tenth it also prints what the fill cost (process CPU and GC CPU per
// hold, GC cycles, WAL bytes, Pebble flushes and compactions with the bytes
// they wrote, L0 files, WAL syncs and their mean time, holds per commit),
// where in the fill Pebble finished a flush or a compaction, and the fill's
// rate and WAL sync while one runs against while none does: the tenths are
// compared within one run, as the machine's load moves absolute figures.
// The Redis run adds, per tenth, what redis-server did beside the node (from
// INFO): its CPU per hold, its children's CPU (AOF rewrites: a fork that
// writes the whole dataset again), bytes received per hold, rewrites, the
// last fork's time, delayed AOF fsyncs, its memory and AOF size.
//
// Run: make bench-fill (go test -run '^$' -bench Fill -benchtime 1x
// ./bench/fill/). FILL_HOLDS sets the number of holds (default 1,000,000;
// the per-100,000 rows become per tenth), FILL_RUNS the runs (pebble,redis),
// FILL_PROFILE=prefix a CPU profile per tenth (prefix-01.pprof ..
// prefix-10.pprof; Pebble's flushes and compactions carry the pprof label
// pebble=flush / compact, the node's serial path boxoffice.serial=...) and
// of the load (prefix-load.pprof), FILL_PEBBLE Pebble options to try on the
// fill (memtable=MiB, l0compact=N, l0stop=N, bytespersync=KiB, targetl0=MiB,
// l0nocompress=1; comma-separated), FILL_REDIS_ARGS redis-server arguments
// added to the harness's (e.g. "--auto-aof-rewrite-percentage 400"), both for
// measurements only.
// Callers' duties: none; it needs redis-server for the redis run (the
// tests' harness installs it).
package fill
