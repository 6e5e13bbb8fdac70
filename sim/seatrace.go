package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
)

// Bounds of the seat-race simulation's flags.
const (
	maxRaceUsers      = 10_000
	maxRaceRounds     = 1_000
	maxFlashUsers     = 100_000
	maxFlashSeats     = 100_000
	seatRaceRunBudget = 10 * time.Minute
)

// raceRow is one scenario's line of the seat-race table.
type raceRow struct {
	scenario string
	users    int
	rounds   int
	winners  int
	losers   int
	errors   int
	latency  Histogram // microseconds per hold request
	checks   []Check
	note     string
}

// errorsCheck: every request of a race got an answer that is a win or a
// correct refusal; first names the first error seen.
func errorsCheck(n int, first error) Check {
	if n == 0 {
		return Check{Name: "no errors", OK: true, Detail: "every request won or was refused as taken/sold out"}
	}
	return Check{Name: "no errors", Detail: fmt.Sprintf("%d requests failed, first: %v", n, first)}
}

// attempt is the answer to one hold request of a race.
type attempt struct {
	hold   seatmap.HoldView
	err    error
	micros int64
}

// fire sends every request at once: one goroutine each, all released by one
// start barrier after all are ready, and waits for every answer.
func fire(ctx context.Context, t Target, reqs []seatmap.HoldRequest) []attempt {
	out := make([]attempt, len(reqs))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range reqs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			t0 := time.Now()
			h, err := t.Hold(ctx, reqs[i])
			out[i] = attempt{hold: h, err: err, micros: time.Since(t0).Microseconds()}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// runRace runs rounds of users racing for seat s0-1-1 of a fresh show each
// round; exactly one must win. After the ledger checks, it releases every
// winning hold and checks the seats are available again.
func runRace(ctx context.Context, t Target, runID string, users, rounds int) raceRow {
	row := raceRow{scenario: "one-seat race", users: users, rounds: rounds}
	led := newLedger()
	var oneWinner, setup failList
	var winners []seatmap.HoldView
	var firstErr error
	const seat = "s0-1-1"
	for r := 0; r < rounds; r++ {
		cfg := raceShow(fmt.Sprintf("%s-n%d-r%d", runID, users, r), 1, 10)
		if err := t.CreateShow(ctx, cfg); err != nil {
			setup.add("round %d: create show: %v", r, err)
			break
		}
		led.addShow(cfg)
		reqs := make([]seatmap.HoldRequest, users)
		for i := range reqs {
			reqs[i] = seatmap.HoldRequest{Show: cfg.ID, User: "u" + strconv.Itoa(i), Seats: []string{seat}}
		}
		n, errs := 0, 0
		for _, a := range fire(ctx, t, reqs) {
			if classify(a.err) == failed && firstErr == nil {
				firstErr = a.err
			}
			row.latency.Record(a.micros)
			switch classify(a.err) {
			case won:
				n++
				winners = append(winners, a.hold)
				led.won(a.hold)
				if len(a.hold.Seats) != 1 || a.hold.Seats[0] != seat {
					oneWinner.add("round %d: winner got seats %v, asked for %s", r, a.hold.Seats, seat)
				}
			case lost:
				row.losers++
			default:
				errs++
				led.unknownHold(cfg.ID, 1)
			}
		}
		row.winners += n
		row.errors += errs
		if n != 1 {
			oneWinner.add("round %d: %d winners (%d errors)", r, n, errs)
		}
	}
	row.checks = append(row.checks, setup.check("setup", fmt.Sprintf("%d shows created", rounds)),
		oneWinner.check("exactly one winner per round", fmt.Sprintf("%d rounds, %d winners", rounds, row.winners)),
		errorsCheck(row.errors, firstErr))
	row.checks = append(row.checks, led.check(ctx, t)...)
	row.checks = append(row.checks, checkReleases(ctx, t, winners))
	return row
}

// checkReleases releases each hold and checks its show is all available again.
func checkReleases(ctx context.Context, t Target, holds []seatmap.HoldView) Check {
	var f failList
	for _, h := range holds {
		if err := t.Release(ctx, h.Show, h.ID); err != nil {
			f.add("%s: release %s: %v", h.Show, h.ID, err)
			continue
		}
		st, err := t.GetShow(ctx, h.Show)
		if err != nil {
			f.add("%s: GET show: %v", h.Show, err)
			continue
		}
		if st.Totals.Available != st.Totals.Capacity || st.Totals.Held != 0 {
			f.add("%s: after release: %+v", h.Show, st.Totals)
		}
	}
	return f.check("release frees the seat", fmt.Sprintf("%d winning holds released, their shows all available again", len(holds)))
}

// flashRequest draws one user's best-available request: a quantity of 1-4 in
// a random tier or a random section of cfg.
func flashRequest(rng *rand.Rand, cfg seatmap.ShowConfig, user string) seatmap.HoldRequest {
	req := seatmap.HoldRequest{Show: cfg.ID, User: user, Quantity: 1 + rng.IntN(4)}
	if rng.IntN(2) == 0 {
		req.Tier = cfg.Tiers[rng.IntN(len(cfg.Tiers))].ID
	} else {
		req.Section = cfg.Sections[rng.IntN(len(cfg.Sections))].ID
	}
	return req
}

// runFlash lets users race at once for a show of seats seats with
// best-available requests; demand exceeds supply.
func runFlash(ctx context.Context, t Target, runID string, users, seats int, seed uint64) raceRow {
	row := raceRow{scenario: "flash sale", users: users, rounds: 1}
	cfg := saleShow(runID+"-flash", seats)
	led := newLedger()
	if err := t.CreateShow(ctx, cfg); err != nil {
		row.checks = []Check{{Name: "setup", Detail: "create show: " + err.Error()}}
		return row
	}
	led.addShow(cfg)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	reqs := make([]seatmap.HoldRequest, users)
	demand := 0
	for i := range reqs {
		reqs[i] = flashRequest(rng, cfg, "u"+strconv.Itoa(i))
		demand += reqs[i].Quantity
	}
	var quantity, other failList
	var refused []seatmap.HoldRequest
	var firstErr error
	for i, a := range fire(ctx, t, reqs) {
		row.latency.Record(a.micros)
		switch classify(a.err) {
		case won:
			row.winners++
			led.won(a.hold)
			if heldCount(a.hold) != reqs[i].Quantity {
				quantity.add("%s asked for %d, got %d", reqs[i].User, reqs[i].Quantity, heldCount(a.hold))
			}
		case lost:
			row.losers++
			if errors.Is(a.err, seatmap.ErrSoldOut) {
				refused = append(refused, reqs[i])
			} else {
				other.add("%s: best-available request refused with %v", reqs[i].User, a.err)
			}
		default:
			row.errors++
			if firstErr == nil {
				firstErr = a.err
			}
			led.unknownHold(cfg.ID, reqs[i].Quantity)
		}
	}
	row.checks = append(row.checks, errorsCheck(row.errors, firstErr))
	row.checks = append(row.checks, quantity.check("holds have the quantity asked", fmt.Sprintf("%d holds", row.winners)))
	row.checks = append(row.checks, led.check(ctx, t)...)
	st, err := t.GetShow(ctx, cfg.ID)
	if err != nil {
		other.add("GET show: %v", err)
	} else {
		checkNoFalseSoldOut(cfg, st, refused, &other)
		row.note = fmt.Sprintf("%d seats, %d asked, %d left", st.Totals.Capacity, demand, st.Totals.Available)
	}
	row.checks = append(row.checks, other.check("sold_out only when no section can fit",
		fmt.Sprintf("%d sold_out answers, each when no section in scope had enough seats", len(refused))))
	return row
}

// checkNoFalseSoldOut: nothing is released during the sale, so availability
// only falls; a request refused as sold out must still find no section in
// its scope (the section, or the tier's sections) with enough seats.
func checkNoFalseSoldOut(cfg seatmap.ShowConfig, st ShowState, refused []seatmap.HoldRequest, f *failList) {
	avail := map[string]int{}
	for _, s := range st.Sections {
		avail[s.ID] = s.Available
	}
	for _, r := range refused {
		for _, sec := range cfg.Sections {
			inScope := sec.ID == r.Section || (r.Tier != "" && sec.Tier == r.Tier)
			if inScope && avail[sec.ID] >= r.Quantity {
				f.add("%s was told sold_out for %d (section %q tier %q) but %s still has %d", r.User, r.Quantity, r.Section, r.Tier, sec.ID, avail[sec.ID])
				break
			}
		}
	}
}

// SeatRaceMain runs "boxoffice sim seat-race": the one-seat races for each
// --users count and the flash sale, printing one table row per scenario. It
// drives the server at --target over HTTP, or else a backend newInProcess
// returns, in process. It returns 0 when every invariant held, 1 when one
// failed, 2 on bad usage.
func SeatRaceMain(args []string, stdout io.Writer, newInProcess func() edge.Backend) int {
	fs := flag.NewFlagSet("seat-race", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("target", "", "server root URL (loopback only), e.g. http://127.0.0.1:8080; empty = in process")
	admin := fs.String("admin-token", "", "admin bearer token, for creating shows over HTTP")
	seed := fs.Uint64("seed", 0, "random seed of the flash sale (0 = from the clock)")
	usersFlag := fs.String("users", "5,10,20,50,200,1000", "comma-separated user counts for the one-seat race")
	rounds := fs.Int("rounds", 10, "rounds per user count")
	flashUsers := fs.Int("flash-users", 3000, "users in the flash sale (0 = skip it)")
	flashSeats := fs.Int("flash-seats", 600, "seats in the flash sale")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	conns := fs.Int("connections", 1024, "maximum HTTP connections")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	users, err := parseUsers(*usersFlag)
	if err == nil && (*rounds < 1 || *rounds > maxRaceRounds) {
		err = fmt.Errorf("--rounds must be in 1..%d", maxRaceRounds)
	}
	if err == nil && (*flashUsers < 0 || *flashUsers > maxFlashUsers || *flashSeats < 2 || *flashSeats > maxFlashSeats) {
		err = fmt.Errorf("--flash-users must be in 0..%d and --flash-seats in 2..%d", maxFlashUsers, maxFlashSeats)
	}
	var t Target
	if err == nil {
		t, err = pickTarget(*target, *admin, *conns, *timeout, newInProcess)
	}
	if err != nil {
		fmt.Fprintln(stdout, "seat-race:", err)
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	runID := newRunID("sr")
	fmt.Fprintf(stdout, "seat-race against %s, run %s, seed %d (rerun with --seed %d)\n", t.Name(), runID, *seed, *seed)
	ctx, cancel := context.WithTimeout(context.Background(), seatRaceRunBudget)
	defer cancel()
	var rows []raceRow
	for _, n := range users {
		rows = append(rows, runRace(ctx, t, runID, n, *rounds))
	}
	if *flashUsers > 0 {
		rows = append(rows, runFlash(ctx, t, runID, *flashUsers, *flashSeats, *seed))
	}
	return printRaceTable(stdout, rows)
}

// pickTarget returns the HTTP target when url is set, else an in-process one.
func pickTarget(url, admin string, conns int, timeout time.Duration, newInProcess func() edge.Backend) (Target, error) {
	if url != "" {
		return NewHTTPTarget(url, admin, conns, timeout)
	}
	if newInProcess == nil {
		return nil, errors.New("no --target given and no in-process backend available")
	}
	return NewInProcessTarget(newInProcess()), nil
}

func parseUsers(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxRaceUsers {
			return nil, fmt.Errorf("--users: %q is not a count in 1..%d", f, maxRaceUsers)
		}
		out = append(out, n)
	}
	return out, nil
}

// newRunID returns a short id that makes show ids of this run unique.
func newRunID(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36*36*36*36*36), 36) +
		strconv.FormatUint(rand.Uint64()%1296, 36)
}

// printRaceTable prints the rows and the failing checks; it returns the exit code.
func printRaceTable(w io.Writer, rows []raceRow) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tusers\trounds\twinners\tlosers\terrors\tp50\tp99\tmax\tinvariants\t")
	code := 0
	var failures []string
	for _, r := range rows {
		verdict := "ok"
		for _, c := range r.checks {
			if !c.OK {
				verdict = "FAIL"
				code = 1
				failures = append(failures, fmt.Sprintf("%s (%d users): %s: %s", r.scenario, r.users, c.Name, c.Detail))
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", r.scenario, r.users, r.rounds, r.winners, r.losers,
			r.errors, fmtMicros(r.latency.Quantile(0.5)), fmtMicros(r.latency.Quantile(0.99)), fmtMicros(r.latency.Max()), verdict)
	}
	tw.Flush()
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.scenario, r.note)
		}
	}
	last := map[string]int{} // the last row of each scenario, whose checks are spelled out
	var order []string
	for i, r := range rows {
		if _, ok := last[r.scenario]; !ok {
			order = append(order, r.scenario)
		}
		last[r.scenario] = i
	}
	for _, sc := range order {
		r := rows[last[sc]]
		fmt.Fprintf(w, "checks of %s (%d users):\n", r.scenario, r.users)
		for _, c := range r.checks {
			fmt.Fprintf(w, "  [%s] %s: %s\n", okWord(c.OK), c.Name, c.Detail)
		}
	}
	for _, f := range failures {
		fmt.Fprintln(w, "FAIL", f)
	}
	return code
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

// fmtMicros formats a duration in microseconds for tables: 85µs, 1.25ms, 2.50s.
func fmtMicros(us int64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 1_000_000:
		return fmt.Sprintf("%.2fms", float64(us)/1000)
	}
	return fmt.Sprintf("%.2fs", float64(us)/1e6)
}
