package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
)

// TestLegacyFixture recovers testdata/legacy, a journal and snapshot written
// by the code before records became facts (JSON commands, a JSON snapshot;
// see TestGenerateLegacyFixture), three ways: from its Pebble directory
// (snapshot + records after it), from every record replayed from scratch,
// and from a Redis state holding the same snapshot and records. Each must
// answer exactly what the old code answered (expected.json).
func TestLegacyFixture(t *testing.T) {
	dir := filepath.Join("testdata", "legacy")
	var want fixtureState
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	var entries []fixtureEntry
	readJSON(t, filepath.Join(dir, "records.json"), &entries)
	snap, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, sh *seatmap.Shard) {
		t.Helper()
		got := fixtureStateOf(t, sh, want.SnapshotSeq)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Fatalf("recovered state differs\n got %s\nwant %s", g, w)
		}
	}
	t.Run("pebble", func(t *testing.T) {
		tmp := t.TempDir()
		copyDir(t, filepath.Join(dir, "pebble"), tmp) // Pebble writes to the directory it opens
		st, err := pebble.Open(pebble.Options{Dir: tmp})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		j := NewPebbleJournal(st)
		if shows, err := j.Shards(); err != nil || len(shows) != 1 || shows[0] != "legacy" {
			t.Fatalf("shows %v, %v", shows, err)
		}
		sh, _, err := loadShard(j, "legacy")
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
		for _, id := range want.Archived {
			raw, ok, err := j.Archived(id)
			if err != nil || !ok {
				t.Fatalf("archived order %s: %v %v", id, ok, err)
			}
			if o, err := decodeArchived(raw); err != nil || o.ID != id || len(o.History) == 0 {
				t.Fatalf("archived order %s (JSON): %+v %v", id, o, err)
			}
		}
	})
	t.Run("records", func(t *testing.T) {
		recs := make([]redis.Entry, len(entries))
		for i, e := range entries {
			recs[i] = redis.Entry{Seq: e.Seq, Data: []byte(e.Data)}
		}
		sh, _, err := shardFromRemote(redis.State{Seq: recs[len(recs)-1].Seq, Entries: recs})
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
	})
	t.Run("redis", func(t *testing.T) {
		st := redis.State{Seq: entries[len(entries)-1].Seq, Snapshot: snap, SnapshotSeq: want.SnapshotSeq}
		for _, e := range entries {
			if e.Seq > want.SnapshotSeq {
				st.Entries = append(st.Entries, redis.Entry{Seq: e.Seq, Data: []byte(e.Data)})
			}
		}
		sh, _, err := shardFromRemote(st)
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// copyDir copies the regular files of src into dst (no subdirectories).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, d.Name()), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureEntry is one journal record as stored: its seq and its bytes.
type fixtureEntry struct {
	Seq  uint64 `json:"seq"`
	Data string `json:"data"` // the stored bytes, exactly
}

// fixtureState is what a recovered show answers: the views a client sees.
type fixtureState struct {
	Seq         uint64                       `json:"seq"`
	SnapshotSeq uint64                       `json:"snapshot_seq"`
	Show        seatmap.ShowView             `json:"show"`
	Seats       []seatmap.SeatEntry          `json:"seats"`
	Holds       map[string]json.RawMessage   `json:"holds"`  // hold id -> view, or the error code
	Orders      map[string]json.RawMessage   `json:"orders"` // order id -> view, or the error code
	Users       map[string]int               `json:"users"`
	Deadline    int64                        `json:"deadline"`
	Archived    []string                     `json:"archived"`
	Extra       map[string]map[string]string `json:"extra,omitempty"`
}

const legacyT0 = int64(1767225600000) // 2026-01-01T00:00:00Z

var (
	legacyHolds  = []string{"legacy~h1", "legacy~h2", "legacy~h3", "legacy~h4", "legacy~h5", "legacy~h6", "legacy~h7", "legacy~h8", "legacy~h9"}
	legacyOrders = []string{"legacy~o1", "legacy~o2", "legacy~o3", "legacy~o4"}
)

// legacyCommands is the fixture's history; a command of Kind 0 marks where
// the snapshot is taken.
func legacyCommands() []seatmap.Command {
	archive := 60
	cfg := seatmap.ShowConfig{ID: "legacy", Name: "Legacy fixture", HoldTTLSeconds: 600, PaymentTTLSeconds: 900,
		MaxSeatsPerUser: 8, ArchiveAfterSeconds: &archive,
		Tiers: []seatmap.Tier{{ID: "std", Price: 5000}, {ID: "vip", Price: 12000}},
		Sections: []seatmap.Section{
			{ID: "s0", Tier: "std", Rows: []seatmap.Row{{ID: "1", Seats: 10}, {ID: "2", Seats: 10}}},
			{ID: "pit", Tier: "vip", Capacity: 50},
			{ID: "balc", Tier: "std", Rows: []seatmap.Row{{ID: "A", Seats: 8}}},
		}}
	at := func(sec int64) int64 { return legacyT0 + sec*1000 }
	return []seatmap.Command{
		{Kind: seatmap.KindCreate, Show: &cfg, Now: at(0)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h1", User: "u1", Seats: []string{"s0-1-5", "s0-1-6"}, IdemKey: "k1", IdemHash: "x1", Now: at(1)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h2", User: "u2", Section: "s0", Quantity: 3, Now: at(2)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h3", User: "u3", Tier: "vip", Quantity: 2, Now: at(3)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h4", User: "u4", Section: "balc", Quantity: 2, Now: at(4)},
		{Kind: seatmap.KindRelease, HoldID: "legacy~h4", User: "u4", Now: at(5)},
		{Kind: seatmap.KindExtend, HoldID: "legacy~h2", User: "u2", Seconds: 1200, Now: at(6)},
		{Kind: seatmap.KindOrder, HoldID: "legacy~h1", OrderID: "legacy~o1", User: "u1", IdemKey: "ok1", IdemHash: "y1", Now: at(7)},
		{Kind: seatmap.KindPay, OrderID: "legacy~o1", User: "u1", Attempt: "a1", Token: "tok_ok", Now: at(8)},
		{Kind: seatmap.KindPayResult, OrderID: "legacy~o1", Attempt: "a1", EventID: "e1", Success: true, Now: at(9)},
		{Kind: seatmap.KindNotified, OrderID: "legacy~o1", EventID: "legacy~o1.3", Channel: "log", Now: at(10)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h5", User: "u5", Section: "pit", Quantity: 4, Now: at(11)},
		{Kind: seatmap.KindOrder, HoldID: "legacy~h5", OrderID: "legacy~o2", User: "u5", Now: at(12)},
		{Kind: seatmap.KindCancel, OrderID: "legacy~o2", User: "u5", Now: at(13)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h6", User: "u6", Section: "s0", Quantity: 2, Now: at(14)},
		{Kind: seatmap.KindOrder, HoldID: "legacy~h6", OrderID: "legacy~o3", User: "u6", Now: at(15)},
		{Kind: seatmap.KindPay, OrderID: "legacy~o3", User: "u6", Attempt: "b1", Now: at(16)},
		{Kind: seatmap.KindPayResult, OrderID: "legacy~o3", Attempt: "b1", EventID: "e2", Success: false, Now: at(17)},
		{}, // snapshot
		{Kind: seatmap.KindHold, HoldID: "legacy~h7", User: "u7", Seats: []string{"s0-2-1"}, Now: at(18)},
		{Kind: seatmap.KindHold, HoldID: "legacy~h8", User: "u8", Section: "s0", Quantity: 4, Now: at(19)},
		{Kind: seatmap.KindPayResult, OrderID: "legacy~o1", Attempt: "zz", EventID: "e3", Success: true, Now: at(20)},
		{Kind: seatmap.KindTick, Now: at(604)}, // h3 (created at 3 s, 600 s TTL) expires
		{Kind: seatmap.KindOrder, HoldID: "legacy~h2", OrderID: "legacy~o4", User: "u2", Now: at(605)},
		{Kind: seatmap.KindTick, Now: at(931)}, // o3 unpaid at 15+900 s: expired
		{Kind: seatmap.KindHold, HoldID: "legacy~h9", User: "u9", Tier: "std", Quantity: 3, IdemKey: "k9", IdemHash: "x9", Now: at(932)},
		{Kind: seatmap.KindTick, Now: at(1000)}, // terminal orders past 60 s leave memory: archived
	}
}

// fixtureStateOf reads what a client would see of the show in sh.
func fixtureStateOf(t *testing.T, sh *seatmap.Shard, snapSeq uint64) fixtureState {
	t.Helper()
	st := fixtureState{Seq: sh.Seq(), SnapshotSeq: snapSeq, Holds: map[string]json.RawMessage{}, Orders: map[string]json.RawMessage{}}
	st.Show = *sh.Apply(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	st.Seats = sh.Apply(seatmap.Command{Kind: seatmap.KindGetSeats}).Seats
	st.Users = sh.Apply(seatmap.Command{Kind: seatmap.KindGetUsers}).Users
	view := func(r seatmap.Result, v any) json.RawMessage {
		if r.Err != nil {
			v = seatmap.ErrorCode(r.Err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, id := range legacyHolds {
		r := sh.Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: id})
		st.Holds[id] = view(r, r.Hold)
	}
	for _, id := range legacyOrders {
		r := sh.Apply(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: id})
		st.Orders[id] = view(r, r.Order)
		if r.Err != nil {
			st.Archived = append(st.Archived, id)
		}
	}
	sort.Strings(st.Archived)
	st.Deadline = sh.Ready().Deadline
	return st
}

// TestLegacyFixtureMigrates runs the show of testdata/legacy in an actor on
// a copy of its Pebble directory: the actor recovers it, writes its state as
// rows once (the snapshot of the format before goes), takes new commands,
// and recovers it again after a restart from the rows alone.
func TestLegacyFixtureMigrates(t *testing.T) {
	var want fixtureState
	readJSON(t, filepath.Join("testdata", "legacy", "expected.json"), &want)
	tmp := t.TempDir()
	copyDir(t, filepath.Join("testdata", "legacy", "pebble"), tmp)
	st, err := pebble.Open(pebble.Options{Dir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j := NewPebbleJournal(st)
	now := legacyT0 + 1000_000 // the fixture's last instant: no timer is due
	env := &Env{Journal: j, Log: testEnv.Log, NowMs: func() int64 { return now }}
	run := func(cmds ...seatmap.Command) []seatmap.Result {
		pid := testNode.System.Root.Spawn(ShowProps(env, "legacy"))
		defer func() { _ = testNode.System.Root.StopFuture(pid).Wait() }()
		var out []seatmap.Result
		for _, c := range cmds {
			ch := make(chan seatmap.Result, 1)
			testNode.System.Root.Send(pid, &request{cmd: c, reply: ch})
			select {
			case r := <-ch:
				out = append(out, r)
			case <-time.After(10 * time.Second):
				t.Fatal("no answer")
			}
		}
		return out
	}
	res := run(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: "legacy~h9"},
		seatmap.Command{Kind: seatmap.KindHold, HoldID: "legacy~h10", User: "u10", Section: "s0", Quantity: 2})
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("after recovery: %v, %v", res[0].Err, res[1].Err)
	}
	seats := res[1].Hold.Seats
	stored, err := j.Load("legacy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Snapshot != nil || stored.RowsSeq < want.Seq {
		t.Fatalf("after the first recovery: snapshot %d bytes, rows at %d (want >= %d)", len(stored.Snapshot), stored.RowsSeq, want.Seq)
	}
	res = run(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: "legacy~h10"}, seatmap.Command{Kind: seatmap.KindGetHold, HoldID: "legacy~h9"})
	if res[0].Err != nil || fmt.Sprint(res[0].Hold.Seats) != fmt.Sprint(seats) || res[1].Err != nil {
		t.Fatalf("after a restart: %+v %+v", res[0], res[1])
	}
	sh, _, err := loadShard(j, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyRedisIsSeeded: Redis holds the fixture as the format before
// wrote it (a JSON snapshot and JSON command records); a node without a
// journal activates the show from it, and seeds Redis with state rows (the
// whole snapshot goes); a node after it recovers from those rows.
func TestLegacyRedisIsSeeded(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("testdata", "legacy")
	var want fixtureState
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	var entries []fixtureEntry
	readJSON(t, filepath.Join(dir, "records.json"), &entries)
	snap, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	fr := newFakeRemote()
	var log []redis.Entry
	for _, e := range entries {
		if e.Seq > want.SnapshotSeq {
			log = append(log, redis.Entry{Seq: e.Seq, Data: []byte(e.Data)})
		}
	}
	fr.Server().PutSnapshot("legacy", 5<<20|1, snap, want.SnapshotSeq, log)
	cfg, _ := json.Marshal(want.Show.Config)
	reg := &memRegistry{m: map[string][]byte{"legacy": cfg}}
	n := newShowNode(t, "legacy", fr, reg)
	// the show activates from the legacy snapshot and log: the paid order's
	// seats are sold (its holds, months past their expiry by the real clock,
	// may already be gone: a read of them races the first tick)
	if sold := soldSeats(ctx, t, n.b); sold != 2 {
		t.Fatalf("after activation from the legacy state: %d seats sold, want the paid order's 2", sold)
	}
	st, err := fr.Load(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if st.HasSnapshot || len(st.Rows) == 0 || st.Seq < want.Seq { // (the real clock may have expired what was due)
		t.Fatalf("redis after activation: snapshot %v, %d rows, seq %d", st.HasSnapshot, len(st.Rows), st.Seq)
	}
	h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: "legacy", User: "u10", Tier: "vip", Quantity: 3})
	if err != nil {
		t.Fatal(err)
	}
	_ = testNode.System.Root.StopFuture(n.pid).Wait()
	other := newShowNode(t, "legacy", fr, reg) // another node, no journal
	if _, err := other.b.GetHold(ctx, "", "legacy", h.ID); err != nil {
		t.Fatalf("hold %s from redis's rows: %v", h.ID, err)
	}
	// the real clock runs months past the fixture's: its holds and orders
	// expired and left; what stays is the paid order's seats, sold
	if sold := soldSeats(ctx, t, other.b); sold != 2 {
		t.Fatalf("%d seats sold, want the paid order's 2", sold)
	}
}

// soldSeats counts the sold seats of the fixture's section s0.
func soldSeats(ctx context.Context, t *testing.T, b *Booking) int {
	t.Helper()
	seats, err := b.Seats(ctx, "legacy", "s0")
	if err != nil {
		t.Fatal(err)
	}
	sold := 0
	for _, s := range seats {
		if s.State == seatmap.Sold {
			sold++
		}
	}
	return sold
}
