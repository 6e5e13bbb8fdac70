package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/rocketmq"
)

// consumeMain runs one consumer alone, reading order events from RocketMQ and
// reporting results to a node over its internal API:
//
//	boxoffice consume payment|notify --rocketmq NS --node URL --internal-token T --data DIR
func consumeMain(args []string) int {
	if len(args) == 0 || (args[0] != "payment" && args[0] != "notify") {
		fmt.Fprintln(os.Stderr, "usage: boxoffice consume payment|notify --rocketmq HOST:PORT --node URL --internal-token T [--data DIR]")
		return 2
	}
	kind := args[0]
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	nameServer := fs.String("rocketmq", "", "RocketMQ name server host:port (env BOXOFFICE_ROCKETMQ)")
	topic := fs.String("rocketmq-topic", rocketmq.DefaultTopic, "topic of order events")
	node := fs.String("node", "http://127.0.0.1:8080", "a boxoffice node, to report results to (env BOXOFFICE_NODE)")
	token := fs.String("internal-token", "", "the node's internal token (env BOXOFFICE_INTERNAL_TOKEN)")
	admin := fs.String("admin-token", "", "the node's admin token, for a node without --internal-token (env BOXOFFICE_ADMIN_TOKEN)")
	dataDir := fs.String("data", "./consumer-data", "consumer state: dedupe store, notifications.log (env BOXOFFICE_DATA)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	envDefaults(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	log := newLogger(*logLevel)
	if *token == "" {
		*token = *admin
	}
	if *nameServer == "" || *token == "" {
		log.Error("consume needs --rocketmq and --internal-token (or --admin-token)")
		return 2
	}
	if err := consume(kind, *nameServer, *topic, *node, *token, *dataDir, log); err != nil {
		log.Error("consume failed", "err", err)
		return 1
	}
	return 0
}

func consume(kind, nameServer, topic, node, token, dataDir string, log *slog.Logger) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	st, err := pebble.Open(pebble.Options{Dir: filepath.Join(dataDir, "pebble"), Logger: log.With("component", "pebble")})
	if err != nil {
		return err
	}
	defer st.Close()
	settler := &pipeline.HTTPSettler{Base: node, Token: token}
	dedupe, sweeper, _ := pipelineStores(st, pipeline.DefaultRetention, log)
	if sweeper != nil {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go pipeline.RunSweeper(ctx, sweeper, pipeline.DefaultRetention/48, log.With("component", "dedupe"))
	}
	pay, notify := consumers(dataDir, dedupe, settler, pipeline.DefaultRetention, log)
	var h pipeline.Handler = pay
	group, tags := rocketmq.GroupPayment, pay.EventTypes()
	if kind == "notify" {
		h, group, tags = notify, rocketmq.GroupNotify, notify.EventTypes()
	}
	c, err := startConsumer(nameServer, topic, dataDir, group, h, tags)
	if err != nil {
		return err
	}
	log.Info("consuming", "group", group, "rocketmq", nameServer, "node", node)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	c.Shutdown()
	return nil
}
