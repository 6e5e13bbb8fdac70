package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/sim"
)

// noopMain runs "boxoffice noop [--http ADDR] [--log-level L] [--pprof ADDR]": the load
// generator's no-op ceiling (sim.NoopHandler: the API's answers for the load
// scenarios, nothing booked) as a server process of its own, started the way
// boxoffice serve is (same runtime settings: GOMAXPROCS from the
// environment, actors.TuneGC; the same fasthttp settings: edge.NewHTTPServer
// with serve's defaults). bench-http starts it beside the real server and
// points boxoffice load --ceiling-target at it, so that the ratio of
// boxoffice to the ceiling compares two server processes that differ in
// their handler alone. It logs "http=ADDR" like serve and stops on SIGTERM
// or SIGINT.
func noopMain(args []string) int {
	fs := flag.NewFlagSet("noop", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:0", "HTTP listen address")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address, as serve --pprof (off when empty)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "boxoffice noop: unexpected arguments %v\n", fs.Args())
		return 2
	}
	log := newLogger(*level)
	actors.TuneGC()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	if *pprofAddr != "" {
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	srv := edge.NewHTTPServer(sim.NoopHandler(), edge.Options{Logger: log})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("boxoffice no-op serving", "http", ln.Addr().String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-errc:
		log.Error("http server stopped", "err", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.ShutdownWithContext(ctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return 0
}
