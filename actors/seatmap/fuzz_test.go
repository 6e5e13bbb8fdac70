package seatmap

import (
	"bytes"

	"fmt"
	"github.com/boxoffice/boxoffice/facts"
	"math/rand"
	"testing"
	"time"
)

// fuzzShow is a small show with seated and GA sections, so random commands collide often.
func fuzzShow(limit int) *ShowConfig {
	archive := limit % 4 * 3 // 0, 3, 6 or 9 seconds: terminal orders leave memory often
	return &ShowConfig{ID: "f", HoldTTLSeconds: 5, PaymentTTLSeconds: 15, MaxSeatsPerUser: limit, ArchiveAfterSeconds: &archive,
		Tiers: []Tier{{ID: "a", Price: 10}, {ID: "b", Price: 25}},
		Sections: []Section{
			{ID: "s", Tier: "a", Rows: []Row{{ID: "1", Seats: 5}, {ID: "2", Seats: 7}, {ID: "3", Seats: 3}}},
			{ID: "t", Tier: "b", Rows: []Row{{ID: "A", Seats: 4}}},
			{ID: "g", Tier: "b", Capacity: 6},
		}}
}

// fuzzHoldIDs are hold ids of both forms: as Booking makes them (the
// seat map keeps their 128 bits) and others (kept as strings).
var fuzzHoldIDs = func() []string {
	rng := rand.New(rand.NewSource(7))
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, "f~"+randomToken(rng), fmt.Sprintf("h%d", i))
	}
	return ids
}()

// randomCommand draws a command from the whole command space, valid or not.
func randomCommand(r *rand.Rand, now int64) Command {
	id := func(p string) string {
		if p == "h" {
			return fuzzHoldIDs[r.Intn(len(fuzzHoldIDs))]
		}
		return fmt.Sprintf("%s%d", p, r.Intn(12))
	}
	c := Command{Now: now, User: fmt.Sprintf("u%d", r.Intn(4))}
	seatIDs := []string{"s-1-1", "s-1-2", "s-1-3", "s-1-5", "s-2-4", "s-2-7", "s-3-3", "t-A-1", "t-A-4", "s-1-9", "g-1-1", "x"}
	switch r.Intn(14) {
	case 0, 1, 2:
		c.Kind, c.HoldID = KindHold, id("h")
		if r.Intn(3) == 0 {
			c.IdemKey, c.IdemHash = id("hk"), id("x")
		}
		switch r.Intn(3) {
		case 0:
			n := 1 + r.Intn(3)
			for i := 0; i < n; i++ {
				c.Seats = append(c.Seats, seatIDs[r.Intn(len(seatIDs))])
			}
		case 1:
			c.Section, c.Quantity = []string{"s", "t", "g", "zz"}[r.Intn(4)], r.Intn(6)
		default:
			c.Tier, c.Quantity = []string{"a", "b", "c"}[r.Intn(3)], r.Intn(6)
		}
	case 3:
		c.Kind, c.HoldID = KindRelease, id("h")
	case 4:
		c.Kind, c.HoldID, c.Seconds = KindExtend, id("h"), r.Intn(20)
	case 5:
		c.Kind = KindTick
	case 6:
		c.Kind, c.OrderID, c.HoldID = KindOrder, id("o"), id("h")
		if r.Intn(2) == 0 {
			c.IdemKey, c.IdemHash = id("k"), id("x")
		}
	case 7, 11:
		c.Kind, c.OrderID, c.Token, c.Attempt = KindPay, id("o"), "tok", attempt(r)
	case 8, 12, 13:
		c.Kind, c.OrderID, c.EventID, c.Success, c.Attempt = KindPayResult, id("o"), id("e"), r.Intn(2) == 0, attempt(r)
	case 9:
		c.Kind, c.OrderID = KindCancel, id("o")
	default:
		c.Kind, c.OrderID = KindNotified, id("o")
		c.EventID = fmt.Sprintf("%s.%d", c.OrderID, r.Intn(6)) // .0 is no event
	}
	if c.Kind != KindHold && r.Intn(3) != 0 {
		c.User = "" // mostly no caller (no ownership check); else one of the users, maybe not the owner
	}
	return c
}

// attempt draws a payment attempt id, now and then an empty or a bad one.
func attempt(r *rand.Rand) string {
	switch n := r.Intn(12); n {
	case 0:
		return ""
	case 1:
		return "bad:id"
	default:
		return fmt.Sprintf("a%d", n%3)
	}
}

// step advances the clock: mostly by under 1.5 s, now and then by hours, so
// expired holds and idempotency keys are forgotten and their ids come free.
func step(r *rand.Rand) int64 {
	switch r.Intn(80) {
	case 0:
		return int64(r.Intn(3 * 3600 * 1000))
	case 1:
		return IdempotencyKeepMs
	}
	return int64(r.Intn(1500))
}

// runRandom applies n random commands, checking the invariants after each,
// and at the end that replay and restore rebuild the same state.
func runRandom(t testing.TB, seed int64, n int, limit int) {
	r := rand.New(rand.NewSource(seed))
	s := New(0)
	if res := s.Apply(Command{Kind: KindCreate, Show: fuzzShow(limit)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	var journal []Record
	rows := rowStore{}
	journal = append(journal, rows.take(t, s.Ready()).Records...)
	now := int64(0)
	// every charge ends paid or refunded: each success the shard accepts for
	// (order incarnation, attempt) is answered by exactly one paid or
	// refund_requested event of that attempt
	type charge struct {
		order   string
		inc     int
		attempt string
	}
	inc := map[string]int{}
	settled := map[charge]string{}
	results := map[[2]string]bool{} // (charge, event id) applied: a redelivery is no new success
	for i := 0; i < n; i++ {
		now += step(r)
		c := randomCommand(r, now)
		if o, ok := s.orders[c.OrderID]; ok && c.Kind == KindPayResult && r.Intn(2) == 0 {
			c.Attempt = o.attempt // settle the attempt in flight, most likely
		}
		res := s.Apply(c)
		if err := s.CheckInvariants(); err != nil {
			t.Fatalf("seed %d step %d (%s %+v): %v", seed, i, c.Kind, c, err)
		}
		rd := rows.take(t, s.Ready())
		journal = append(journal, rd.Records...)
		if len(rd.Records) > 0 {
			randomStats["ok_"+c.Kind.String()]++
		}
		for _, e := range rd.Events {
			switch e.Type {
			case EventCreated:
				inc[e.OrderID]++
			case EventPaid, EventRefund:
				k := charge{e.OrderID, inc[e.OrderID], e.Attempt}
				if prev, dup := settled[k]; dup {
					t.Fatalf("seed %d step %d: attempt %+v settled twice: %s then %s", seed, i, k, prev, e.Type)
				}
				settled[k] = e.Type
				randomStats[e.Type]++
			}
		}
		for _, o := range rd.Archive {
			randomStats["archived_"+o.Status]++
			if _, live := s.orders[o.ID]; live {
				t.Fatalf("seed %d step %d: archived order %s still in memory", seed, i, o.ID)
			}
		}
		if res.ArchivedOrderID != "" {
			randomStats["archived_answer"]++
		}
		rk := [2]string{fmt.Sprint(charge{c.OrderID, inc[c.OrderID], c.Attempt}), c.EventID}
		if c.Kind == KindPayResult && res.Err == nil && !results[rk] {
			results[rk] = true
			if !c.Success {
				continue
			}
			if _, ok := settled[charge{c.OrderID, inc[c.OrderID], c.Attempt}]; !ok {
				t.Fatalf("seed %d step %d: success of %s/%s neither paid nor refunded", seed, i, c.OrderID, c.Attempt)
			}
		}
	}
	re := New(0)
	for _, rec := range journal {
		if err := re.Replay(rec); err != nil {
			t.Fatalf("seed %d: replay: %v", seed, err)
		}
	}
	if a, b := Fingerprint(s), Fingerprint(re); a != b {
		t.Fatalf("seed %d: replayed state %s != live %s", seed, b, a)
	}
	// the JSON snapshot of the format before rows still restores alike (but
	// for the released hold ids, which that format never carried)
	old, err := s.legacySnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if rl, err := Restore(old); err != nil || fingerprint(rl, facts.RowReleasedAt) != fingerprint(s, facts.RowReleasedAt) {
		t.Fatalf("seed %d: restore of a JSON snapshot: %v", seed, err)
	}
	// the rows every Ready handed out add up to the whole state
	rows.check(t, s)
	fromRows := rows.restore(t)
	if a, b := Fingerprint(s), Fingerprint(fromRows); a != b {
		t.Fatalf("seed %d: state restored from the changed rows %s != live %s", seed, b, a)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Restore(snap)
	if err != nil {
		t.Fatalf("seed %d: restore: %v", seed, err)
	}
	if a, b := Fingerprint(s), Fingerprint(rs); a != b {
		t.Fatalf("seed %d: restored state %s != live %s", seed, b, a)
	}
	// the restored shard must go on exactly like the live one, once the
	// memory of released hold ids (memory only, not in rows: these random
	// commands reuse hold ids) has passed
	now += HoldReleasedMemory
	for i := 0; i < 200; i++ {
		now += step(r)
		c := randomCommand(r, now)
		s.Apply(c)
		rs.Apply(c)
	}
	if a, b := Fingerprint(s), Fingerprint(rs); a != b {
		t.Fatalf("seed %d: restored shard diverged: %s != %s", seed, b, a)
	}
}

// randomStats counts what the random runs reached (paid, refunds, archived orders).
var randomStats = map[string]int{}

func TestRandomCommands(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	clear(randomStats)
	for i := int64(0); i < 40; i++ {
		runRandom(t, seed+i, 1000, int(i%8))
	}
	t.Logf("reached: %v", randomStats)
	for _, k := range []string{EventPaid, EventRefund, "archived_paid", "archived_cancelled", "archived_expired"} {
		if randomStats[k] == 0 {
			t.Errorf("random commands never reached %s", k)
		}
	}
}

// FuzzCommands drives the shard with a fuzzer-chosen seed and length.
func FuzzCommands(f *testing.F) {
	f.Add(int64(1), uint16(100), uint8(0))
	f.Add(int64(42), uint16(1000), uint8(4))
	f.Fuzz(func(t *testing.T, seed int64, n uint16, limit uint8) {
		runRandom(t, seed, int(n%2000), int(limit%8))
	})
}

// FuzzSeatID checks that seat ids parse one way only: a parsed id formats back to itself.
func FuzzSeatID(f *testing.F) {
	for _, s := range []string{"s-1-1", "s-1-01", "t-A-4", "s--1", "-1-1", "s-1-", "s-2-7", "s-1-1-1", "g-1-1"} {
		f.Add(s)
	}
	s := New(0)
	s.Apply(Command{Kind: KindCreate, Show: fuzzShow(0)})
	f.Fuzz(func(t *testing.T, id string) {
		seat, ok := s.parseSeat(id)
		if !ok {
			return
		}
		if back := s.seatID(seat); back != id {
			t.Fatalf("%q parsed to seat %d which formats as %q", id, seat, back)
		}
	})
}

// rowStore applies the rows of each Ready as a store would.
type rowStore map[string][]byte

// take applies rd's rows, failing t at a New row of a key the store holds
// (a writer would drop the key's tombstone: facts.Row.New).
func (m rowStore) take(t testing.TB, rd Ready) Ready {
	t.Helper()
	for _, r := range rd.Rows {
		if _, ok := m[r.Key]; ok && r.New {
			t.Fatalf("row %q is New, but the store holds its key", r.Key)
		}
		if r.Value == nil {
			delete(m, r.Key)
		} else {
			m[r.Key] = r.Value
		}
	}
	return rd
}

// check compares the store with every row of s (but the position's instant,
// which reads move without a record).
func (m rowStore) check(t testing.TB, s *Shard) {
	t.Helper()
	full := map[string][]byte{}
	for _, r := range s.Rows() {
		full[r.Key] = r.Value
	}
	meta := facts.RowKey(facts.RowMeta, "")
	for k, v := range full {
		if k == meta {
			continue
		}
		if got, ok := m[k]; !ok || !bytes.Equal(got, v) {
			t.Fatalf("row %q: store has %x (%v), the state %x", k, got, ok, v)
		}
	}
	for k := range m {
		if _, ok := full[k]; !ok && k != meta {
			if kind, _, _ := facts.SplitRowKey(k); kind == facts.RowSeats && allAvailableRow(m[k]) {
				continue // a row of seats all free again: Rows leaves it out
			}
			t.Fatalf("row %q is in the store, not in the state", k)
		}
	}
}

func allAvailableRow(v []byte) bool {
	st, err := facts.DecodeSeats(v)
	return err == nil && !bytes.ContainsFunc(st, func(r rune) bool { return r != 0 })
}

func (m rowStore) restore(t testing.TB) *Shard {
	t.Helper()
	r := NewRestorer()
	for k, v := range m {
		if err := r.Add(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
