package main

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/cluster"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/sim"
)

func simMain(args []string) int {
	switch {
	case len(args) > 0 && args[0] == "seat-race":
		return sim.SeatRaceMain(args[1:], os.Stdout, inProcessBackend())
	case len(args) > 0 && args[0] == "onsale":
		return sim.OnsaleMain(args[1:], os.Stdout)
	}
	fmt.Fprintln(os.Stderr, "usage: boxoffice sim seat-race [--target URL] [--admin-token T] [--seed N] [--users 5,10,...]")
	fmt.Fprintln(os.Stderr, "       boxoffice sim onsale [--fans N] [--seats N] [--seed N] [--report out.html]")
	return 2
}

// inProcessBackend returns a factory for one in-process node (actors and an
// in-memory journal), started on first use and shared: protoactor's cluster
// wants one member per process.
func inProcessBackend() func() edge.Backend {
	var once sync.Once
	var b *actors.Booking
	return func() edge.Backend {
		once.Do(func() {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			env := &actors.Env{Journal: actors.NewMemJournal(), Log: log}
			n, err := cluster.Start(cluster.Config{Kinds: []*pcluster.Kind{actors.Kind(env)}, Log: log})
			if err != nil {
				fmt.Fprintln(os.Stderr, "boxoffice sim:", err)
				os.Exit(1)
			}
			b = actors.NewBooking(n, n.System, env, actors.BookingOptions{})
			b.SetReady(true)
		})
		return b
	}
}

func loadMain(args []string) int { return sim.LoadMain(args, os.Stdout) }
