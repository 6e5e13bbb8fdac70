package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bounds of boxoffice load: every run ends, and a mistyped flag cannot make
// it unbounded.
const (
	maxLoadDuration     = 10 * time.Minute
	maxLoadRate         = 200_000
	maxLoadConns        = 4096
	maxLoadArrivals     = 20_000_000
	maxLoadUsers        = 100_000
	maxLoadSeats        = 100_000
	defaultOpenInflight = 256
	defaultClosedConns  = 16
	checkBudget         = 2 * time.Minute
)

// loadOptions are the parsed flags of boxoffice load.
type loadOptions struct {
	scenario string
	target   string
	admin    string
	rate     float64
	conns    int
	duration time.Duration
	ceiling  bool
	// ceilingTarget is a no-op server (boxoffice noop) to run the ceiling
	// against instead of one in this process
	ceilingTarget string
	// warmup is how long each measured run (the ceiling's, boxoffice's) is
	// preceded by the same load against the same server, unrecorded
	warmup  time.Duration
	report  string
	json    bool
	jsonOut string
	seed    uint64
	timeout time.Duration
	params  loadParams
}

// LoadMain runs "boxoffice load SCENARIO --target URL --admin-token T
// [--rate R | --connections N] --duration D [--warmup D] [--ceiling] [--report out.html]
// [--json] [--json-out FILE]". It returns 0 when the run finished and every
// invariant held, 1 when an invariant failed, 2 on bad usage or when the run
// could not start.
func LoadMain(args []string, stdout io.Writer) int {
	if len(args) > 0 && args[0] == "onsale" {
		return OnsaleLoadMain(args[1:], stdout)
	}
	opts, err := parseLoadArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stdout, "load:", err)
		return 2
	}
	rep, err := runLoad(opts, stdout)
	if err != nil {
		fmt.Fprintln(stdout, "load:", err)
		return 2
	}
	if opts.json {
		err = writeJSON(stdout, rep)
	} else {
		writeSummary(stdout, rep)
	}
	if err == nil && opts.jsonOut != "" {
		err = writeJSONFile(opts.jsonOut, rep)
	}
	if err == nil && opts.report != "" {
		err = writeHTMLFile(opts.report, rep)
		if err == nil && !opts.json {
			fmt.Fprintln(stdout, "report written to", opts.report)
		}
	}
	if err != nil {
		fmt.Fprintln(stdout, "load:", err)
		return 2
	}
	if !rep.InvariantsOK {
		return 1
	}
	return 0
}

func parseLoadArgs(args []string, out io.Writer) (loadOptions, error) {
	var o loadOptions
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.scenario, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: boxoffice load {%s} --target URL --admin-token T [--rate R | --connections N] --duration D [--warmup D] [--ceiling] [--ceiling-target URL] [--report out.html] [--json] [--json-out FILE]\n",
			strings.Join(scenarioNames, "|"))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.target, "target", "", "server root URL, loopback only (http://127.0.0.1:8080)")
	fs.StringVar(&o.admin, "admin-token", "", "admin bearer token, for creating the run's shows")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: arrivals per second (latency counted from each arrival's intended start)")
	fs.IntVar(&o.conns, "connections", 0, fmt.Sprintf("closed loop: connections (default %d); with --rate: max arrivals in flight (default %d)", defaultClosedConns, defaultOpenInflight))
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the run")
	fs.BoolVar(&o.ceiling, "ceiling", false, "first run the same load against an in-process no-op server and report the ratio")
	fs.StringVar(&o.ceilingTarget, "ceiling-target", "", "with or without --ceiling: run the ceiling against this no-op server (boxoffice noop, loopback) instead of one in this process")
	fs.DurationVar(&o.warmup, "warmup", 0, "before each measured run (the ceiling's and boxoffice's), drive the same load against the same server for this long, unrecorded (0 = none)")
	fs.StringVar(&o.report, "report", "", "write a self-contained HTML report to this file")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of the table")
	fs.StringVar(&o.jsonOut, "json-out", "", "also write the report as JSON to this file")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed (0 = from the clock)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.IntVar(&o.params.users, "users", 0, "seat-race: users per seat (default 10); flash-sale, mixed: users per sale (default 3000)")
	fs.IntVar(&o.params.seats, "seats", 0, fmt.Sprintf("seats per show: flash-sale, browse, mixed (default 600); holds, ga-holds, orders (default %d)", defaultBigSeats))
	fs.Float64Var(&o.params.payShare, "pay-share", 0.5, "flash-sale, mixed: share of won holds that are ordered and paid")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.scenario == "" && fs.NArg() > 0 {
		o.scenario = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return o, o.validate()
}

// validate checks the options and fills the defaults that depend on others.
func (o *loadOptions) validate() error {
	if _, err := newScenario(o.scenario); err != nil {
		return err
	}
	if o.target == "" {
		return errors.New("--target is required")
	}
	if _, _, err := parseLoopbackTarget(o.target); err != nil {
		return err
	}
	if o.ceilingTarget != "" {
		if _, _, err := parseLoopbackTarget(o.ceilingTarget); err != nil {
			return fmt.Errorf("--ceiling-target: %w", err)
		}
		o.ceiling = true
	}
	if o.warmup < 0 || o.warmup > maxLoadDuration {
		return fmt.Errorf("--warmup must be in 0..%s", maxLoadDuration)
	}
	if o.duration < time.Second || o.duration > maxLoadDuration {
		return fmt.Errorf("--duration must be in 1s..%s", maxLoadDuration)
	}
	if o.rate < 0 || o.rate > maxLoadRate {
		return fmt.Errorf("--rate must be in 0..%d", maxLoadRate)
	}
	if o.conns < 0 || o.conns > maxLoadConns {
		return fmt.Errorf("--connections must be in 1..%d", maxLoadConns)
	}
	if o.rate > 0 && o.rate*o.duration.Seconds() > maxLoadArrivals {
		return fmt.Errorf("--rate × --duration is over %d arrivals", maxLoadArrivals)
	}
	if o.conns == 0 {
		o.conns = defaultClosedConns
		if o.rate > 0 {
			o.conns = defaultOpenInflight
		}
	}
	if o.timeout <= 0 || o.timeout > time.Minute {
		return errors.New("--timeout must be in (0, 1m]")
	}
	if o.params.users == 0 {
		o.params.users = 3000
		if o.scenario == "seat-race" {
			o.params.users = 10
		}
	}
	if o.params.users < 1 || o.params.users > maxLoadUsers {
		return fmt.Errorf("--users must be in 1..%d", maxLoadUsers)
	}
	switch o.scenario {
	case "holds", "ga-holds", "orders":
		if o.params.seats == 0 {
			o.params.seats = defaultBigSeats
		}
		if err := checkBigSeats(o.params.seats); err != nil {
			return err
		}
	default:
		if o.params.seats == 0 {
			o.params.seats = 600
		}
		if o.params.seats < 12 || o.params.seats > maxLoadSeats {
			return fmt.Errorf("--seats must be in 12..%d", maxLoadSeats)
		}
	}
	if o.params.payShare < 0 || o.params.payShare > 1 {
		return errors.New("--pay-share must be in 0..1")
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return nil
}

// runResult is one run against one target.
type runResult struct {
	drive     driveResult
	endpoints []EndpointSummary
	all       EndpointSummary
	series    []SeriesPoint
	checks    []Check
	// warmArrivals is the arrivals of the warm-up before it (--warmup)
	warmArrivals int64
}

// runLoad performs the ceiling run (when asked) and the boxoffice run.
func runLoad(o loadOptions, stdout io.Writer) (*Report, error) {
	var progress io.Writer
	if !o.json && isTerminal(stdout) {
		progress = stdout
	}
	started := time.Now()
	var ceil *runResult
	var ceilWhere string
	if o.ceiling {
		var err error
		ceil, ceilWhere, err = runCeiling(o, progress)
		if err != nil {
			return nil, err
		}
	}
	warmed, err := warm(o, o.target, progress)
	if err != nil {
		return nil, err
	}
	res, err := runOnce(o, o.target, true, progress, "boxoffice")
	if err != nil {
		return nil, err
	}
	res.warmArrivals = warmed
	rep := newReport(o, res, started)
	if ceil != nil {
		rep.Ceiling = &CeilingResult{Target: ceilWhere, All: ceil.all, Endpoints: ceil.endpoints,
			ThroughputPerSecond: ceil.all.RatePerSecond, WarmupArrivals: ceil.warmArrivals,
			Note: "requests per second over all endpoints; the no-op server grants every hold, so its request mix can differ"}
		if ceil.all.RatePerSecond > 0 {
			rep.Ceiling.Ratio = rep.ThroughputPerSecond / ceil.all.RatePerSecond
		}
		if o.rate > 0 {
			rep.Ceiling.Note += "; with --rate both runs are paced, so the ratio is near 1 unless one saturates (use --connections for capacity)"
		}
	}
	return rep, nil
}

// runCeiling runs the load against the no-op server: o.ceilingTarget's, or
// one started in this process. It returns the run and where it ran.
func runCeiling(o loadOptions, progress io.Writer) (*runResult, string, error) {
	if o.ceilingTarget != "" {
		warmed, err := warm(o, o.ceilingTarget, progress)
		if err != nil {
			return nil, "", err
		}
		ceil, err := runOnce(o, o.ceilingTarget, false, progress, "no-op ceiling")
		if err != nil {
			return nil, "", fmt.Errorf("ceiling run: %w", err)
		}
		ceil.warmArrivals = warmed
		return ceil, o.ceilingTarget + " (no-op, own process)", nil
	}
	srv, err := startNoop()
	if err != nil {
		return nil, "", fmt.Errorf("starting the no-op ceiling server: %w", err)
	}
	warmed, err := warm(o, srv.url, progress)
	var ceil *runResult
	if err == nil {
		ceil, err = runOnce(o, srv.url, false, progress, "no-op ceiling")
	}
	srv.close()
	if err != nil {
		return nil, "", fmt.Errorf("ceiling run: %w", err)
	}
	ceil.warmArrivals = warmed
	return ceil, srv.url + " (no-op, in process)", nil
}

// warm drives the load against target for o.warmup (nothing without one),
// on a show of its own, and returns its arrivals (for the CPU per arrival
// of a server measured over both; nothing else of it is recorded), so that
// the measured run after it meets a server the same load has warmed.
// Without it, with both servers just started, a second no-op server in
// boxoffice's place made 1.09-1.12 of the first one's rate (medians of 7
// and 9 rounds at 512 connections), and 1.00 with both long-lived: likely
// the processes' first seconds of growing goroutines, buffers and heap
// (bench/README.md, issue 12, nineteenth round).
func warm(o loadOptions, target string, progress io.Writer) (arrivals int64, err error) {
	if o.warmup <= 0 {
		return 0, nil
	}
	w := o
	w.duration = o.warmup
	res, err := runOnce(w, target, false, progress, "warm-up")
	if err != nil {
		return 0, fmt.Errorf("warm-up against %s: %w", target, err)
	}
	return res.drive.arrivals, nil
}

func newReport(o loadOptions, res *runResult, started time.Time) *Report {
	rep := &Report{Scenario: o.scenario, Target: o.target, Mode: "closed-loop", Connections: o.conns,
		DurationSeconds: o.duration.Seconds(), WarmupSeconds: o.warmup.Seconds(), WarmupArrivals: res.warmArrivals,
		ElapsedSeconds: res.drive.elapsed.Seconds(), Seed: o.seed,
		StartedAt: started.UTC().Truncate(time.Second), Arrivals: res.drive.arrivals, Missed: res.drive.missed,
		Requests: res.all.Count, Errors: res.all.Errors, ThroughputPerSecond: res.all.RatePerSecond,
		All: res.all, Endpoints: res.endpoints, Series: res.series, Checks: res.checks, InvariantsOK: allOK(res.checks),
		Params: map[string]string{"users": strconv.Itoa(o.params.users), "seats": strconv.Itoa(o.params.seats),
			"pay_share": strconv.FormatFloat(o.params.payShare, 'f', -1, 64), "timeout": o.timeout.String()}}
	if o.rate > 0 {
		rep.Mode, rep.RatePerSecond = "open-loop", o.rate
	}
	return rep
}

// runOnce drives the scenario against target and, when check is set, runs
// the invariant checks afterwards. progress, when not nil, gets a live line.
func runOnce(o loadOptions, target string, check bool, progress io.Writer, label string) (*runResult, error) {
	c, err := newHTTPClient(target, o.admin, o.conns+4, o.timeout)
	if err != nil {
		return nil, err
	}
	sc, err := newScenario(o.scenario)
	if err != nil {
		return nil, err
	}
	// the ceiling run keeps a ledger too, though it is never checked: the
	// client then does the same work per request against both servers
	led := newLedger()
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+drainGrace+2*o.timeout+checkBudget)
	defer cancel()
	rec := newRecorder(sc.endpoints(), time.Now())
	e := &env{c: c, rec: rec, led: led, runID: newRunID("ld"), params: o.params}
	if err := sc.setup(ctx, e); err != nil {
		return nil, fmt.Errorf("setting up %s on %s: %w", o.scenario, target, err)
	}
	now := time.Now()
	rec.start, rec.lastTick = now, now
	spec := driveSpec{rate: o.rate, workers: o.conns, duration: o.duration, maxTotal: maxLoadArrivals, seed: o.seed}
	dr := drive(ctx, spec, func(ctx context.Context, w *worker, i int64, intended time.Time) {
		sc.arrival(ctx, e, w, i, intended)
	}, func(now time.Time) {
		p := rec.tick(now)
		if progress != nil {
			fmt.Fprint(progress, progressLine(label, p, &rec.all, rec.allErrs))
		}
	})
	rec.tick(time.Now())
	if progress != nil {
		fmt.Fprintln(progress)
	}
	res := &runResult{drive: dr, series: rec.series}
	res.endpoints, res.all = rec.summaries(dr.elapsed)
	if check {
		res.checks = led.check(ctx, &httpTarget{c: c})
	}
	return res, nil
}

// writeJSONFile writes the report as JSON to path.
func writeJSONFile(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJSON(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeHTMLFile renders the report to path.
func writeHTMLFile(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeHTML(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
