// Package sim is boxoffice's simulation and measurement harness.
//
// It has two entry points, wired as subcommands by the boxoffice binary:
//
//   - SeatRaceMain ("boxoffice sim seat-race"): N users race for one seat,
//     round after round, and 3,000 users race for 600 seats in a flash sale;
//     it prints one table row per scenario and checks the invariants (exactly
//     one winner per seat, no seat in two holds, counters add up to capacity).
//     It drives either an edge.Backend in process or a server over HTTP.
//
//   - LoadMain ("boxoffice load SCENARIO"): an open-loop (fixed arrival rate,
//     latency measured from the intended send time, so coordinated omission is
//     accounted for) or closed-loop (N connections) load generator over HTTP,
//     with per-endpoint log-linear latency histograms, a summary table, JSON
//     output, a self-contained HTML report and an optional ceiling run against
//     a no-op server that answers the same shapes and sizes (in the load
//     generator's process, or with --ceiling-target a process of its own:
//     boxoffice noop serves NoopHandler). Scenarios:
//     seat-race, flash-sale, browse and mixed (contention and sell-outs), and
//     holds and orders (sustained durable writes in a big venue: hold then
//     release, hold then order; what make bench measures), and ga-holds
//     (issue 12's hot show: one show, one GA section, hold one place then
//     release it: every command through one actor; make bench-hot).
//
//   - OnsaleMain ("boxoffice sim onsale"): 100,000 fans for a 20,000-seat
//     show, with and without the waiting room, on the pure seat map in
//     simulated time (seeded, repeatable), with the room's and the
//     waitlist's promises checked after every step; OnsaleLoadMain
//     ("boxoffice load onsale") runs the same fans in real time against a
//     server over HTTP. Both print a comparison and write an HTML report.
//
// Callers' duties: pass a fresh backend factory to SeatRaceMain (each call of
// it must return an independent backend or one that tolerates new shows);
// LoadMain only drives loopback targets and refuses any other host. Both
// create their own shows (with the admin token over HTTP), named with a
// random run id, so they can share a server with other traffic. Neither
// writes anything but the report files it is asked for.
package sim
