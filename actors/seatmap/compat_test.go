package seatmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestConfigOneShardAndArchive(t *testing.T) {
	base := func() ShowConfig {
		return ShowConfig{ID: "c", Tiers: []Tier{{ID: "t", Price: 1}},
			Sections: []Section{{ID: "a", Tier: "t", Capacity: 1}, {ID: "b", Tier: "t", Capacity: 1}, {ID: "c", Tier: "t", Capacity: 1}}}
	}
	ptr := func(n int) *int { return &n }
	for _, tc := range []struct {
		name    string
		edit    func(*ShowConfig)
		err     bool
		archive int64 // ArchiveAfterMs after Normalize
	}{
		{name: "defaults", edit: func(*ShowConfig) {}, archive: 600_000},
		{name: "old sections_per_shard is ignored", edit: func(c *ShowConfig) { c.SectionsPerShard = 1 }, archive: 600_000},
		{name: "any sections_per_shard", edit: func(c *ShowConfig) { c.SectionsPerShard = 5000 }, archive: 600_000},
		{name: "archive 0", edit: func(c *ShowConfig) { c.ArchiveAfterSeconds = ptr(0) }, archive: 0},
		{name: "archive max", edit: func(c *ShowConfig) { c.ArchiveAfterSeconds = ptr(86400) }, archive: 86_400_000},
		{name: "archive negative", edit: func(c *ShowConfig) { c.ArchiveAfterSeconds = ptr(-1) }, err: true},
		{name: "archive too long", edit: func(c *ShowConfig) { c.ArchiveAfterSeconds = ptr(86401) }, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			c.Normalize()
			err := c.Validate()
			if (err != nil) != tc.err {
				t.Fatalf("Validate: %v, want error %v", err, tc.err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("error %v is not invalid_request", err)
				}
				return
			}
			if c.Shards() != 1 || c.SectionsPerShard != 0 {
				t.Fatalf("Shards() = %d, SectionsPerShard = %d", c.Shards(), c.SectionsPerShard)
			}
			for i := range c.Sections {
				if c.ShardOfSection(i) != 0 {
					t.Fatalf("section %d on shard %d", i, c.ShardOfSection(i))
				}
			}
			if got := c.ArchiveAfterMs(); got != tc.archive {
				t.Fatalf("ArchiveAfterMs = %d, want %d", got, tc.archive)
			}
			// the config survives JSON (an explicit 0 stays 0)
			b, _ := json.Marshal(c)
			var back ShowConfig
			if err := json.Unmarshal(b, &back); err != nil || back.ArchiveAfterMs() != tc.archive {
				t.Fatalf("round trip %s: %v, archive %d", b, err, back.ArchiveAfterMs())
			}
			s := New(0)
			if r := s.Apply(Command{Kind: KindCreate, Show: &c}); r.Err != nil || len(r.Show.Sections) != 3 {
				t.Fatalf("create: %+v", r)
			}
			doc := MergeShow([]ShowView{*s.Apply(Command{Kind: KindGetShow}).Show})
			if len(doc.Sections) != 3 || doc.Totals.Capacity != 3 {
				t.Fatalf("merged show: %+v", doc)
			}
			if r := New(1).Apply(Command{Kind: KindCreate, Show: &c}); !errors.Is(r.Err, ErrInvalidRequest) {
				t.Fatalf("shard 1 of a one-shard show: %v", r.Err)
			}
		})
	}
}

func TestPayAttemptsBounded(t *testing.T) {
	s := New(0)
	s.Apply(Command{Kind: KindCreate, Show: fuzzShow(0)})
	s.Apply(Command{Kind: KindHold, HoldID: "h", User: "u", Seats: []string{"s-1-1"}})
	s.Apply(Command{Kind: KindOrder, HoldID: "h", OrderID: "o"})
	for i := 0; i < MaxPayAttempts; i++ {
		att := fmt.Sprintf("a%d", i)
		if r := s.Apply(Command{Kind: KindPay, OrderID: "o", Attempt: att}); r.Err != nil {
			t.Fatalf("attempt %d: %v", i, r.Err)
		}
		if r := s.Apply(Command{Kind: KindPayResult, OrderID: "o", Attempt: att, EventID: "e"}); r.Err != nil || r.Order.Status != StatusPendingPayment {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	r := s.Apply(Command{Kind: KindPay, OrderID: "o", Attempt: "one-more"})
	if !errors.Is(r.Err, ErrInvalidState) {
		t.Fatalf("attempt %d: %v, want invalid_state", MaxPayAttempts+1, r.Err)
	}
	// a success of any of them is still refunded, once
	s.Ready()
	for i := 0; i < 2; i++ {
		s.Apply(Command{Kind: KindPayResult, OrderID: "o", Attempt: "a3", EventID: fmt.Sprint("late", i), Success: true})
	}
	if ev := s.Ready().Events; len(ev) != 1 || ev[0].Type != EventRefund || ev[0].Attempt != "a3" {
		t.Fatalf("events %+v, want one refund of a3", ev)
	}
	// results that change nothing are remembered up to a bound
	for i := 0; i < 1000; i++ {
		s.Apply(Command{Kind: KindPayResult, OrderID: "o", Attempt: "stale", EventID: fmt.Sprint("f", i)})
		s.Apply(Command{Kind: KindPayResult, OrderID: "o", Attempt: "a3", EventID: fmt.Sprint("s", i), Success: true})
	}
	if n := len(s.orders["o"].seen); n > maxSeen {
		t.Fatalf("the order remembers %d results", n)
	}
	// notifications name the order's own events
	for _, ev := range []string{"o.0", "o.01", "o.99", "x.1", "o1", ""} {
		if r := s.Apply(Command{Kind: KindNotified, OrderID: "o", EventID: ev}); !errors.Is(r.Err, ErrInvalidRequest) {
			t.Fatalf("notified %q: %v", ev, r.Err)
		}
	}
	if r := s.Apply(Command{Kind: KindNotified, OrderID: "o", EventID: "o.1", Channel: "log"}); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// TestLegacyJournal replays records written before payment attempts: a pay
// without an attempt, settled by a result without one. Live, such a pay is refused.
func TestLegacyJournal(t *testing.T) {
	cmds := []Command{
		{Kind: KindCreate, Show: fuzzShow(0)},
		{Kind: KindHold, HoldID: "h", User: "u", Seats: []string{"s-1-1"}, Now: 1},
		{Kind: KindOrder, HoldID: "h", OrderID: "o", Now: 2},
		{Kind: KindPay, OrderID: "o", Token: "tok", Now: 3},
		{Kind: KindPayResult, OrderID: "o", EventID: "o.2", Now: 4},
		{Kind: KindPay, OrderID: "o", Token: "tok", Now: 5},
		{Kind: KindPayResult, OrderID: "o", EventID: "o.4", Success: true, Now: 6},
	}
	s := New(0)
	for i, c := range cmds {
		if err := s.Replay(legacyRecord(t, uint64(i+1), c)); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
	}
	if r := s.Apply(Command{Kind: KindGetOrder, OrderID: "o"}); r.Order.Status != StatusPaid {
		t.Fatalf("legacy order is %s", r.Order.Status)
	}
	live := New(0)
	for _, c := range cmds[:3] {
		live.Apply(c)
	}
	if r := live.Apply(cmds[3]); !errors.Is(r.Err, ErrInvalidRequest) {
		t.Fatalf("live pay without an attempt: %v", r.Err)
	}
}

// TestRestoreVersion1 restores a snapshot of the version before this one: a
// converted hold kept as a hold, terminal orders without archive instants, a
// config naming sections_per_shard.
func TestRestoreVersion1(t *testing.T) {
	s := New(0)
	cfg := fuzzShow(0)
	cfg.ArchiveAfterSeconds = nil
	s.Apply(Command{Kind: KindCreate, Show: cfg})
	s.Apply(Command{Kind: KindHold, HoldID: "h1", User: "u", Seats: []string{"s-1-1"}, Now: 1000})
	s.Apply(Command{Kind: KindOrder, HoldID: "h1", OrderID: "o1", IdemKey: "k", IdemHash: "x", Now: 2000})
	s.Apply(Command{Kind: KindPay, OrderID: "o1", Attempt: "a", Now: 3000})
	s.Apply(Command{Kind: KindPayResult, OrderID: "o1", Attempt: "a", EventID: "e", Success: true, Now: 4000})
	s.Apply(Command{Kind: KindNotified, OrderID: "o1", EventID: "o1.3", Channel: "log", Now: 5000})
	s.Apply(Command{Kind: KindHold, HoldID: "h2", User: "v", Section: "g", Quantity: 2, Now: 6000})
	s.Apply(Command{Kind: KindOrder, HoldID: "h2", OrderID: "o2", Now: 7000})
	s.Apply(Command{Kind: KindCancel, OrderID: "o2", Now: 8000})
	s.Apply(Command{Kind: KindHold, HoldID: "h3", User: "v", Seats: []string{"t-A-1"}, Now: 9000})
	// write it down as version 1 did
	sn := s.snapshot()
	sn.Version = 1
	v1 := *sn.Config
	v1.SectionsPerShard, v1.ArchiveAfterSeconds = 32, nil
	sn.Config = &v1
	for _, o := range []*order{s.orders["o1"], s.orders["o2"]} {
		sn.Holds = append(sn.Holds, snapHold{ID: o.holdID, User: o.user, Seats: o.seats, General: snapParts(o.general),
			Quantity: o.quantity, Amount: o.amount, CreatedAt: o.holdCreatedAt, ExpiresAt: o.holdExpiresAt, OrderID: o.id})
	}
	for i := range sn.Orders {
		so := &sn.Orders[i]
		so.HoldCreatedAt, so.HoldExpiresAt, so.Done, so.Attempt, so.Attempts, so.Refunds = 0, 0, 0, "", nil, nil
	}
	b, err := json.Marshal(sn)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"done"`) || !strings.Contains(string(b), `"sections_per_shard":32`) {
		t.Fatalf("not a version 1 snapshot: %s", b)
	}
	r, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	// the converted holds answer through their orders, with their own instants
	for _, id := range []string{"h1", "h2"} {
		want, got := s.Apply(Command{Kind: KindGetHold, HoldID: id}), r.Apply(Command{Kind: KindGetHold, HoldID: id})
		if got.Err != nil || fmt.Sprint(*got.Hold) != fmt.Sprint(*want.Hold) {
			t.Fatalf("hold %s: %+v, want %+v", id, got, want)
		}
	}
	if r.ActiveHolds() != 1 || r.Config().SectionsPerShard != 0 || r.Config().ArchiveAfterMs() != 600_000 {
		t.Fatalf("restored: %d holds, config %+v", r.ActiveHolds(), r.Config())
	}
	// terminal orders leave at the end of their status + retention, as live
	for _, sh := range []*Shard{s, r} {
		sh.Ready()
		sh.Apply(Command{Kind: KindTick, Now: 4000 + 600_000})
		rd := sh.Ready()
		if len(rd.Archive) != 1 || rd.Archive[0].ID != "o1" {
			t.Fatalf("archive at 604000: %+v", rd.Archive)
		}
		sh.Apply(Command{Kind: KindTick, Now: 8000 + 600_000})
		if rd := sh.Ready(); len(rd.Archive) != 1 || rd.Archive[0].ID != "o2" {
			t.Fatalf("archive at 608000: %+v", rd.Archive)
		}
		if res := sh.Apply(Command{Kind: KindOrder, HoldID: "h1", OrderID: "o9", IdemKey: "k", IdemHash: "x"}); res.ArchivedOrderID != "o1" {
			t.Fatalf("order key of an archived order: %+v", res)
		}
	}
	if a, b := Fingerprint(s), Fingerprint(r); a != b {
		t.Fatalf("restored from version 1 then archived: %s, live %s", b, a)
	}
}

// legacyRecord is cmd as the journal stored it before facts: its JSON.
func legacyRecord(t testing.TB, seq uint64, cmd Command) Record {
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return Record{Seq: seq, Legacy: b}
}
