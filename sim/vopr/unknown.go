package vopr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Unknown show ids (issue 9, finding 8: "unknown show ids leave state").
// Every client call passes actors.KnownShow on its entry node first, the gate
// Booking's showCall and Seats pass (with the node's cache of configs, which
// dies with the process), over the node's registry: actors.RemoteRegistry
// on the node's faulty Redis connection (redisfake), or actors.KVRegistry
// on its store without Redis. The
// workload also reads and writes under show ids nobody created; after each
// such call and at the end, the checker asserts that the id left nothing:
// no activation on any node, no call that reached the show's actor (Booking
// would have made an in-flight counter and a placement lookup), no key in
// Redis, nothing in any node's journal.

// kvStore is a node's Pebble kv as KVRegistry uses it (it survives the
// node's crashes, like its journal).
type kvStore map[string][]byte

func (kv kvStore) Get(key string) ([]byte, bool, error) {
	v, ok := kv[key]
	return v, ok, nil
}

func (kv kvStore) PutIfAbsent(key string, val []byte) (bool, error) {
	if _, ok := kv[key]; ok {
		return false, nil
	}
	kv[key] = append([]byte(nil), val...)
	return true, nil
}

func (kv kvStore) ScanKV(prefix string, fn func(key string, val []byte) bool) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !fn(k, kv[k]) {
			break
		}
	}
	return nil
}

// newRegistry is the registry a node's incarnation uses, as serve.go builds
// it: RemoteRegistry over its Redis connection (its cache dies with the
// process; MinRefresh on the node's clock), else KVRegistry over its store.
func (n *node) newRegistry() actors.Registry {
	if n.redis != nil {
		return &actors.RemoteRegistry{Remote: n.redis, Now: n.clock.Now}
	}
	return actors.KVRegistry{Store: n.kv}
}

// register records a show in the registry (what CreateShow does first),
// without faults.
func (w *world) register(cfg seatmap.ShowConfig) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	if w.redis != nil {
		_, err = w.redis.Client().RegisterShow(context.Background(), cfg.ID, raw)
	} else {
		_, err = actors.KVRegistry{Store: w.nodes[0].kv}.Register(context.Background(), cfg.ID, raw)
	}
	if err != nil {
		panic(err)
	}
}

// gate is Booking's check before any call to show, on node entry, with
// Booking's mapping of ErrShowNotFound for hold and order commands.
func (w *world) gate(entry *node, show string, cmd seatmap.Command) error {
	_, err := actors.KnownShow(context.Background(), entry.registry, entry.shows, show)
	if !errors.Is(err, seatmap.ErrShowNotFound) {
		return err
	}
	switch cmd.Kind {
	case seatmap.KindGetHold, seatmap.KindRelease, seatmap.KindExtend, seatmap.KindOrder:
		return seatmap.ErrHoldNotFound
	case seatmap.KindGetOrder, seatmap.KindPay, seatmap.KindCancel:
		return seatmap.ErrOrderNotFound
	}
	return err
}

// unknown reads or writes under a show id nobody created, then checks
// that it left nothing.
func (c *client) unknown(p *proc) {
	w := c.w
	show := "nosuch" + w.newToken()[:4]
	w.unknownIDs = append(w.unknownIDs, show)
	cmds := []seatmap.Command{
		{Kind: seatmap.KindGetShow},
		{Kind: seatmap.KindGetSeats, Section: "a"},
		{Kind: seatmap.KindHold, User: c.user, HoldID: w.newID(show), Section: "a", Quantity: 1},
		{Kind: seatmap.KindGetHold, User: c.user, HoldID: w.newID(show)},
		{Kind: seatmap.KindRelease, User: c.user, HoldID: w.newID(show)},
		{Kind: seatmap.KindOrder, User: c.user, HoldID: w.newID(show), OrderID: w.newID(show), IdemKey: c.key("o")},
		{Kind: seatmap.KindGetOrder, OrderID: w.newID(show)},
		{Kind: seatmap.KindPay, User: c.user, OrderID: w.newID(show), Attempt: w.newToken(), Token: tokOK},
		{Kind: seatmap.KindCancel, User: c.user, OrderID: w.newID(show)},
	}
	cmd := cmds[w.s.rng.IntN(len(cmds))]
	_, err := c.do(p, show, cmd)
	switch {
	case err == nil:
		w.model.fail("%s on unknown show %s succeeded", describeCmd(cmd), show)
	case isUnavailable(err), errors.Is(err, seatmap.ErrShowNotFound), errors.Is(err, seatmap.ErrHoldNotFound),
		errors.Is(err, seatmap.ErrOrderNotFound):
	default:
		w.model.fail("%s on unknown show %s answered %v (want not found)", describeCmd(cmd), show, err)
	}
	w.checkUnknown(show, describeCmd(cmd))
}

// checkUnknown asserts that unknown show id show left no state anywhere.
func (w *world) checkUnknown(show, what string) {
	var left []string
	for _, n := range w.nodes {
		if n.everActivated[show] > 0 {
			left = append(left, fmt.Sprintf("node%d activated its actor %d times", n.id, n.everActivated[show]))
		}
		if a := n.acts[show]; a != nil && !a.stopped && !a.dead {
			left = append(left, fmt.Sprintf("node%d still has its activation", n.id))
		}
		if n.journal.Knows(show) {
			left = append(left, fmt.Sprintf("node%d's journal holds it", n.id))
		}
	}
	if w.calledShow[show] > 0 {
		left = append(left, fmt.Sprintf("%d calls reached its actor (an in-flight counter and a placement lookup each)", w.calledShow[show]))
	}
	if w.redis != nil && w.redis.Written(show) {
		left = append(left, "Redis has keys of it: "+w.redis.Describe(show))
	}
	if len(left) > 0 {
		w.model.fail("unknown show id %s (after %s) left state: %s", show, what, strings.Join(left, "; "))
	}
}

// unknownDrainChecks re-checks every unknown id at the end (a node's boot
// activates what its journal holds).
func (w *world) checkUnknownAll() {
	for _, show := range w.unknownIDs {
		w.checkUnknown(show, "the end of the run")
	}
}
