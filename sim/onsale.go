package sim

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// The on-sale simulation ("boxoffice sim onsale", "boxoffice load onsale"):
// many fans arrive over the first minutes for a show with far fewer seats;
// some abandon their holds, some fail payment; unserved fans may join the
// waitlist. The same fans (one seed) run once with the waiting room and once
// without, and the report compares time to sell out, fans served, admissions
// that found nothing to buy, the peak write rate the show saw, seats that
// came back and were resold through the waitlist, and fairness.

// salePoint is one second of a run.
type salePoint struct {
	Commands, Writes, Reads, Holds, HoldsRefused int
	// the show at the end of the second
	Available, Sold, HeldReserved               int
	Waiting, Live, Unconverted, WaitlistWaiting int
	sampled                                     bool
	serverCommands                              int // over HTTP: the actors\' command count in this second
}

// saleMetrics are a run's seconds.
type saleMetrics struct {
	points []salePoint
}

// at returns the point of the second t falls in.
func (m *saleMetrics) at(t time.Duration) *salePoint {
	i := int(t / time.Second)
	for len(m.points) <= i {
		m.points = append(m.points, salePoint{})
	}
	return &m.points[i]
}

// saleResult is what one run measured.
type saleResult struct {
	Target             string
	Show               string
	Room               bool
	Seed               uint64
	Fans, Seats        int
	SoldOutAfter       float64 // seconds after opening until no seat was available (-1: never)
	AllSoldAfter       float64 // seconds after opening until every seat was sold (-1: never)
	SeatsSold          int
	FansServed         int // paid
	FansHeld           int // got seats at some point
	Admitted           int // with the room: fans admitted; without: fans who tried
	FoundNothing       int // of those, fans who found nothing to hold
	PeakWrites         int // journal records in the busiest second
	PeakCommands       int // commands the show applied in the busiest second (reads included)
	PeakHoldAttempts   int // hold requests in the busiest second
	Commands, Writes   int
	Reads              int
	SeatsReturned      int     // seats of abandoned holds, unpaid orders and lapsed offers, back within the run
	Offers             int     // waitlist offers fans saw
	ResoldViaWaitlist  int     // seats paid through a waitlist offer
	FairServed         float64 // Kendall's tau of arrival order vs first hold (1 = in arrival order)
	FairAdmittedLater  float64 // with the room: tau of arrival vs first admission, fans who came after opening
	FairAdmittedBefore float64 // with the room: the same for fans who came before opening (shuffled: about 0)
	FairN              [3]int  // how many fans each tau is over
	GaveUp             map[string]int
	Errors             map[string]int
	Checks             []Check
	Series             []salePoint
	OpensAt            float64 // seconds since the start
	WallSeconds        float64
}

// result computes a finished run's figures.
func (r *saleRun) result(target string, chk *saleChecker) *saleResult {
	p := r.p
	res := &saleResult{Target: target, Show: r.cfg.ID, Room: p.room, Seed: p.seed, Fans: p.fans, Seats: p.seats, SoldOutAfter: -1,
		AllSoldAfter: -1, GaveUp: map[string]int{}, Errors: map[string]int(r.errs), Series: r.metrics.points,
		OpensAt: r.opensAt.Seconds()}
	fill(res.Series)
	open := int(r.opensAt / time.Second)
	for i, pt := range res.Series {
		res.Commands += pt.Commands
		res.Writes += pt.Writes
		res.Reads += pt.Reads
		res.PeakWrites = max(res.PeakWrites, pt.Writes)
		res.PeakCommands = max(res.PeakCommands, pt.Commands)
		res.PeakHoldAttempts = max(res.PeakHoldAttempts, pt.Holds+pt.HoldsRefused)
		if i >= open && pt.sampled && pt.Available == 0 && res.SoldOutAfter < 0 {
			res.SoldOutAfter = float64(i - open + 1)
		}
		if i >= open && pt.Sold == p.seats && res.AllSoldAfter < 0 {
			res.AllSoldAfter = float64(i - open + 1)
		}
		res.SeatsSold = pt.Sold
	}
	end := r.opensAt + p.horizon
	var served, later, before []pair
	for _, f := range r.fans {
		if f.paid {
			res.FansServed++
			if f.viaWaitlist {
				res.ResoldViaWaitlist += f.seatsPaid
			}
		}
		if f.heldAt >= 0 {
			res.FansHeld++
			served = append(served, pair{f.arrive, f.heldAt})
		}
		if (p.room && f.admittedAt >= 0) || (!p.room && f.firstTryAt >= 0) {
			res.Admitted++
			if f.foundNothing {
				res.FoundNothing++
			}
		}
		res.Offers += f.offers
		for _, rt := range f.returns {
			if rt.at <= end {
				res.SeatsReturned += rt.n
			}
		}
		if f.gaveUp != "" {
			res.GaveUp[f.gaveUp]++
		}
	}
	if chk != nil && p.room {
		// the exact admission order, from the recorded facts; a fan whose pass
		// ran out and who joined again counts at its first ticket only
		counted := map[*fan]bool{}
		for i, n := range chk.firstAdmits {
			f := chk.ticketFan[n]
			if counted[f] {
				continue
			}
			counted[f] = true
			at := f.arrive.Truncate(time.Millisecond) // the instant the show saw: arrivals in one ms are a tie
			if f.arrive >= r.opensAt {
				later = append(later, pair{at, time.Duration(i)})
			} else {
				before = append(before, pair{at, time.Duration(i)})
			}
		}
	} else if p.room {
		for _, f := range r.fans { // as polled
			if f.admittedAt >= 0 && f.arrive >= r.opensAt {
				later = append(later, pair{f.arrive, f.admittedAt})
			} else if f.admittedAt >= 0 {
				before = append(before, pair{f.arrive, f.admittedAt})
			}
		}
	}
	res.FairServed, res.FairAdmittedLater, res.FairAdmittedBefore = kendall(served), kendall(later), kendall(before)
	res.FairN = [3]int{len(served), len(later), len(before)}
	if chk != nil {
		res.Checks = chk.checks()
	}
	return res
}

// fill carries the show's state over seconds in which nothing happened.
func fill(pts []salePoint) {
	for i := 1; i < len(pts); i++ {
		if !pts[i].sampled {
			c := pts[i]
			prev := pts[i-1]
			prev.Commands, prev.Writes, prev.Reads, prev.Holds, prev.HoldsRefused = c.Commands, c.Writes, c.Reads, c.Holds, c.HoldsRefused
			prev.serverCommands = c.serverCommands
			pts[i] = prev
		}
	}
}

// pair is one fan's arrival and when it was served (or its admission rank).
type pair struct{ arrive, served time.Duration }

// kendall is Kendall's tau between arrival and service order (ties count
// for neither): 1 when everyone is served in arrival order, about 0 when the
// order is random. O(n log n).
func kendall(ps []pair) float64 {
	n := len(ps)
	if n < 2 {
		return 1
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].arrive != ps[j].arrive {
			return ps[i].arrive < ps[j].arrive
		}
		return ps[i].served < ps[j].served
	})
	seq := make([]time.Duration, n)
	for i, p := range ps {
		seq[i] = p.served
	}
	inv := inversions(seq, make([]time.Duration, n))
	pairs := float64(n) * float64(n-1) / 2
	return 1 - 2*float64(inv)/pairs
}

// inversions counts pairs i<j with a[i] > a[j] (merge sort; a is sorted after).
func inversions(a, buf []time.Duration) int64 {
	if len(a) < 2 {
		return 0
	}
	m := len(a) / 2
	inv := inversions(a[:m], buf[:m]) + inversions(a[m:], buf[m:])
	i, j, k := 0, m, 0
	for i < m && j < len(a) {
		if a[j] < a[i] {
			inv += int64(m - i)
			buf[k] = a[j]
			j++
		} else {
			buf[k] = a[i]
			i++
		}
		k++
	}
	k += copy(buf[k:], a[i:m])
	copy(buf[k:], a[j:])
	copy(a, buf[:len(a)])
	return inv
}

// OnsaleMain runs "boxoffice sim onsale [--fans N --seats N --seed S
// --scale K --check --report out.html --only room|no-room]": the on-sale in
// process on the pure seat map, in simulated time, with and without the
// waiting room. It returns 0 when every check held, 1 when one failed, 2 on
// bad usage.
func OnsaleMain(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("onsale", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fans := fs.Int("fans", 100_000, "fans")
	seats := fs.Int("seats", 20_000, "seats")
	seed := fs.Uint64("seed", 0, "random seed (0 = from the clock)")
	scale := fs.Float64("time-scale", 1, "multiply every duration (arrivals, TTLs, think times) by this")
	check := fs.Bool("check", true, "check the promises after every step (slower)")
	only := fs.String("only", "", "run only \"room\" or \"no-room\"")
	report := fs.String("report", "", "write an HTML report with charts to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fans < 1 || *fans > 2_000_000 || *seats < 50 || *seats > 1_000_000 || *scale <= 0 || *scale > 100 {
		fmt.Fprintln(stdout, "onsale: --fans must be in 1..2000000, --seats in 50..1000000, --time-scale in (0, 100]")
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	fmt.Fprintf(stdout, "onsale: %d fans, %d seats, in process (simulated time), seed %d (rerun with --seed %d)\n",
		*fans, *seats, *seed, *seed)
	var results []*saleResult
	for _, room := range []bool{true, false} {
		if *only == "room" && !room || *only == "no-room" && room {
			continue
		}
		p := fullSale(room, *seed).scaled(*fans, *seats, *scale)
		start := time.Now()
		res := runVirtual(p, *check)
		res.WallSeconds = time.Since(start).Seconds()
		results = append(results, res)
	}
	fmt.Fprintf(stdout, "machine: %s/%s, %d CPUs\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	ok := writeSaleTable(stdout, results)
	if *report != "" {
		if err := writeSaleHTMLFile(*report, results); err != nil {
			fmt.Fprintln(stdout, "onsale:", err)
			return 2
		}
		fmt.Fprintln(stdout, "report written to", *report)
	}
	if !ok {
		return 1
	}
	return 0
}

// writeSaleTable prints the runs side by side and their checks; it reports
// whether every check held.
func writeSaleTable(w io.Writer, rs []*saleResult) bool {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\t"
	for _, r := range rs {
		head += map[bool]string{true: "with the room\t", false: "without\t"}[r.Room]
	}
	fmt.Fprintln(tw, head)
	row := func(name string, f func(r *saleResult) string) {
		line := name + "\t"
		for _, r := range rs {
			line += f(r) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	after := func(s float64) string {
		if s < 0 {
			return "never"
		}
		return fmt.Sprintf("%.0f s", s)
	}
	row("sold out (nothing available) after opening", func(r *saleResult) string { return after(r.SoldOutAfter) })
	row("every seat sold after opening", func(r *saleResult) string { return after(r.AllSoldAfter) })
	row("seats sold", func(r *saleResult) string { return fmt.Sprintf("%d of %d", r.SeatsSold, r.Seats) })
	row("fans served (paid)", func(r *saleResult) string { return fmt.Sprintf("%d of %d", r.FansServed, r.Fans) })
	row("admitted (room) / tried (no room)", func(r *saleResult) string { return fmt.Sprint(r.Admitted) })
	row("... that found nothing to buy", func(r *saleResult) string { return fmt.Sprint(r.FoundNothing) })
	row("peak writes/s (journal records)", func(r *saleResult) string { return fmt.Sprint(r.PeakWrites) })
	row("peak commands/s (reads included)", func(r *saleResult) string { return fmt.Sprint(r.PeakCommands) })
	row("peak hold requests/s", func(r *saleResult) string { return fmt.Sprint(r.PeakHoldAttempts) })
	row("commands / writes / reads in all", func(r *saleResult) string {
		return fmt.Sprintf("%d / %d / %d", r.Commands, r.Writes, r.Reads)
	})
	row("seats returned (abandoned, unpaid, lapsed)", func(r *saleResult) string { return fmt.Sprint(r.SeatsReturned) })
	row("waitlist offers / seats resold through it", func(r *saleResult) string {
		return fmt.Sprintf("%d / %d", r.Offers, r.ResoldViaWaitlist)
	})
	row("fairness: tau(arrival, first hold)", func(r *saleResult) string {
		return fmt.Sprintf("%.3f (%d fans)", r.FairServed, r.FairN[0])
	})
	row("fairness: tau(arrival, admission), came after opening", func(r *saleResult) string {
		if !r.Room {
			return "-"
		}
		return fmt.Sprintf("%.3f (%d fans)", r.FairAdmittedLater, r.FairN[1])
	})
	row("fairness: tau(arrival, admission), came before (shuffled)", func(r *saleResult) string {
		if !r.Room {
			return "-"
		}
		return fmt.Sprintf("%.3f (%d fans)", r.FairAdmittedBefore, r.FairN[2])
	})
	row("unexpected answers", func(r *saleResult) string { return countsText(r.Errors) })
	row("wall time", func(r *saleResult) string { return fmt.Sprintf("%.1f s", r.WallSeconds) })
	tw.Flush()
	ok := true
	for _, r := range rs {
		for _, c := range r.Checks {
			tag := "ok  "
			if !c.OK {
				tag, ok = "FAIL", false
			}
			fmt.Fprintf(w, "%s [%s] %s: %s\n", tag, map[bool]string{true: "room", false: "no room"}[r.Room], c.Name, c.Detail)
		}
	}
	return ok
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func writeSaleHTMLFile(path string, rs []*saleResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeSaleHTML(f, rs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
