package seatmap

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestPaymentTokenNotKept checks that a payment token reaches the
// payment_requested event and nothing else the shard keeps or hands to the
// journal: not the record, not a snapshot, not a later event, not the record
// of an old journal that carried one.
func TestPaymentTokenNotKept(t *testing.T) {
	const secret = "tok_SECRET_4242"
	s := New(0)
	cfg := ShowConfig{ID: "sec", Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 4}}}}}
	cmds := []Command{
		{Kind: KindCreate, Show: &cfg},
		{Kind: KindHold, HoldID: "h", User: "u", Seats: []string{"a-1-1"}, Now: 1},
		{Kind: KindOrder, HoldID: "h", OrderID: "o", User: "u", Now: 2},
		{Kind: KindPay, OrderID: "o", Attempt: "A", Token: secret, User: "u", Now: 3},
		{Kind: KindPayResult, OrderID: "o", Attempt: "A", EventID: "e", Success: true, Now: 4},
	}
	for _, c := range cmds {
		if res := s.Apply(c); res.Err != nil {
			t.Fatalf("%s: %v", c.Kind, res.Err)
		}
	}
	rd := s.Ready()
	recs, _ := json.Marshal(rd.Records)
	if bytes.Contains(recs, []byte(secret)) {
		t.Fatalf("a journal record carries the payment token: %s", recs)
	}
	carried := 0
	for _, e := range rd.Events {
		if e.Token == secret && e.Type == EventPaymentRequested {
			carried++
		} else if e.Token != "" {
			t.Fatalf("event %s %s carries a token", e.ID, e.Type)
		}
	}
	if carried != 1 {
		t.Fatalf("want the token in one payment_requested event, got %d", carried)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(snap, []byte(secret)) {
		t.Fatal("the snapshot carries the payment token")
	}
	// an old journal record with a token replays, and the token stays out of the state
	r := New(0)
	for i, c := range cmds {
		c.Token = ""
		if c.Kind == KindPay {
			c.Token = secret
		}
		if err := r.Replay(legacyRecord(t, uint64(i+1), c)); err != nil {
			t.Fatal(err)
		}
	}
	if snap2, _ := r.Snapshot(); bytes.Contains(snap2, []byte(secret)) {
		t.Fatal("a replayed old record put the token into the snapshot")
	}
	if Fingerprint(r) != Fingerprint(s) {
		t.Fatal("replay diverged")
	}
}
