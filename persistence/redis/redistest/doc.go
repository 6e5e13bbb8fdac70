// Package redistest runs real redis-server processes on loopback for tests:
// a single server (StartServer) or a three-master Redis Cluster
// (StartCluster).
//
// When redis-server is not on the machine, the first start installs Debian's
// package with apt-get (root, or sudo without a password, is needed) and
// stops the server the package may have started on 6379; a machine that
// cannot install it fails the test with an error saying what to run.
//
// Callers' duties: none beyond calling the Start functions from a test; every
// process is killed and its directory removed by t.Cleanup. Servers use
// --appendonly yes --appendfsync everysec --save "": a Kill (SIGKILL) loses
// nothing Redis acknowledged (its AOF writes reach the OS before it
// replies); only a machine crash could lose the last second. To simulate
// lost data, Kill, remove files from Dir() and Restart. To simulate a
// partition or a stalled host, Stop (SIGSTOP: connects still succeed,
// nothing is answered) and Cont. WithReplicaOf starts a replica of a
// server (servers use --repl-diskless-sync-delay 0, so it syncs at once).
//
// Server and Cluster methods are safe for concurrent use.
package redistest
