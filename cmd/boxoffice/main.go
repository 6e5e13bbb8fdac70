package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  boxoffice serve [--http ADDR] [--data DIR] [--admin-token T] [flags]   run a node
  boxoffice sim seat-race [--target URL] [flags]                         contention scenarios
  boxoffice sim onsale [--fans N --seats N --seed S --report F]          on-sale with and without the waiting room (simulated time)
  boxoffice load SCENARIO --target URL [flags]                           load generator (holds, orders, seat-race, flash-sale, browse, mixed)
  boxoffice consume payment|notify --rocketmq NS --node URL [flags]      one order-pipeline consumer, alone
  boxoffice token --secret S --sub USER [--ttl 1h]                       mint an HS256 user token
  boxoffice noop [--http ADDR]                                           load's no-op ceiling server, own process (benchmarks)
Run a command with -h for its flags.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var code int
	switch os.Args[1] {
	case "serve":
		code = serveMain(os.Args[2:])
	case "sim":
		code = simMain(os.Args[2:])
	case "load":
		code = loadMain(os.Args[2:])
	case "consume":
		code = consumeMain(os.Args[2:])
	case "token":
		code = tokenMain(os.Args[2:])
	case "noop":
		code = noopMain(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "boxoffice: unknown command %q\n", os.Args[1])
		usage()
		code = 2
	}
	os.Exit(code)
}
