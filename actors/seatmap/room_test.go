package seatmap

import (
	"errors"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// roomJournal runs a small on-sale: three tickets join before opening, the
// room opens, u1 holds two seats, the show sells out, a waitlist entry
// joins, and u1's hold is released (an offer). It returns the shard and its
// records.
func roomJournal(t *testing.T) (*Shard, []Record) {
	t.Helper()
	s := New(0)
	cfg := &ShowConfig{ID: "r", HoldTTLSeconds: 60, Tiers: []Tier{{ID: "a", Price: 1}},
		Sections: []Section{{ID: "s", Tier: "a", Rows: []Row{{ID: "1", Seats: 4}}}},
		Queue:    &QueueConfig{OpensAt: "1970-01-01T00:00:10Z", MaxActive: 5, AdmitFactor: 1}}
	var recs []Record
	apply := func(c Command) Result {
		t.Helper()
		res := s.Apply(c)
		if res.Err != nil {
			t.Fatalf("%s: %v", c.Kind, res.Err)
		}
		recs = append(recs, s.Ready().Records...)
		return res
	}
	apply(Command{Kind: KindCreate, Show: cfg})
	for i, u := range []string{"u1", "u2", "u3"} {
		apply(Command{Kind: KindQueueJoin, Now: int64(1000 * (i + 1)), Ticket: "t" + u, User: u})
	}
	apply(Command{Kind: KindTick, Now: 10_000})
	apply(Command{Kind: KindHold, Now: 11_000, User: "u1", HoldID: "h1", Seats: []string{"s-1-1", "s-1-2"}, Ticket: "tu1"})
	apply(Command{Kind: KindHold, Now: 11_000, User: "u2", HoldID: "h2", Seats: []string{"s-1-3", "s-1-4"}, Ticket: "tu2"})
	apply(Command{Kind: KindWaitlistJoin, Now: 12_000, User: "w", Entry: "e1", Quantity: 1})
	apply(Command{Kind: KindRelease, Now: 13_000, HoldID: "h1"})
	return s, recs
}

// TestReplayTakesRoomFacts: replay applies the recorded shuffle and offers
// as they are, even when today's code would decide otherwise.
func TestReplayTakesRoomFacts(t *testing.T) {
	_, recs := roomJournal(t)
	var opened *RoomOpening
	var admitted *[]uint32
	var offer *OfferFact
	rf, save := roomFactsIn(recs)
	for i := range recs {
		if f := rf[i]; f != nil && f.Opened != nil {
			opened, admitted = f.Opened, &f.Admitted
		}
		if f := rf[i]; f != nil && len(f.Offers) == 1 {
			offer = &f.Offers[0]
		}
	}
	if opened == nil || offer == nil || len(opened.Order) != 3 || len(*admitted) != 3 {
		t.Fatalf("the journal has no opening of 3 tickets (%v) or no offer (%v)", opened, offer)
	}
	// another order than the shuffle gives, and another seat than the fit picks
	want := []uint32{opened.Order[2], opened.Order[0], opened.Order[1]}
	opened.Order, *admitted = want, want // the opening admitted all three
	other := "s-1-2"
	if offer.Seats[0] == other {
		other = "s-1-1"
	}
	offer.Seats = []string{other}
	save()
	re := New(0)
	for _, rec := range recs {
		if err := re.Replay(rec); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	firsts := make([]uint32, 3)
	for _, tk := range re.room.tickets {
		firsts[tk.firstAdmit-1] = tk.num
	}
	if !slices.Equal(firsts, want) {
		t.Errorf("admitted in order %v, the recorded opening says %v", firsts, want)
	}
	slot, ok := re.holds.get("e1.offer")
	if !ok {
		t.Fatal("no offer hold e1.offer")
	}
	if tk := re.takes.at(re.holds.at(slot).take); len(tk.seats) != 1 || re.seatIDs(tk.seats)[0] != other {
		t.Errorf("offer hold %+v, the record says seat %s", tk, other)
	}
	if err := re.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestReplayRefusesFactsThatDoNotApply: a recorded offer of a taken seat, or
// an admission of a ticket that does not wait, fails the replay.
func TestReplayRefusesFactsThatDoNotApply(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *RoomFacts) bool
		want string
	}{
		{"offer of a taken seat", func(f *RoomFacts) bool {
			if len(f.Offers) == 0 {
				return false
			}
			f.Offers[0].Seats = []string{"s-1-3"}
			return true
		}, "not available"},
		{"admission of a ticket that does not wait", func(f *RoomFacts) bool {
			if len(f.Admitted) == 0 {
				return false
			}
			f.Admitted = append(f.Admitted, f.Admitted[0])
			return true
		}, "not waiting"},
		{"admission out of line", func(f *RoomFacts) bool {
			if len(f.Admitted) < 2 {
				return false
			}
			f.Admitted[0], f.Admitted[1] = f.Admitted[1], f.Admitted[0]
			return true
		}, "not next in line"},
		{"opening of another pool", func(f *RoomFacts) bool {
			if f.Opened == nil {
				return false
			}
			f.Opened.Order = f.Opened.Order[1:]
			return true
		}, "the pool has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, recs := roomJournal(t)
			edited := false
			rf, save := roomFactsIn(recs)
			for i := range recs {
				if f := rf[i]; f != nil && !edited {
					edited = tc.edit(f)
				}
			}
			save()
			if !edited {
				t.Fatal("no record to edit")
			}
			re := New(0)
			var err error
			for _, rec := range recs {
				if err = re.Replay(rec); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("replay error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestRoomConfig(t *testing.T) {
	base := func() ShowConfig {
		return ShowConfig{ID: "c", Tiers: []Tier{{ID: "t", Price: 1}}, Sections: []Section{{ID: "a", Tier: "t", Capacity: 10}}}
	}
	for _, tc := range []struct {
		name string
		edit func(*ShowConfig)
		err  string
	}{
		{"no room", func(*ShowConfig) {}, ""},
		{"defaults", func(c *ShowConfig) { c.Queue = &QueueConfig{} }, ""},
		{"opens_at", func(c *ShowConfig) { c.Queue = &QueueConfig{OpensAt: "2026-12-01T18:00:00Z"} }, ""},
		{"opens_at with offset", func(c *ShowConfig) { c.Queue = &QueueConfig{OpensAt: "2026-12-01T18:00:00+01:00"} }, ""},
		{"bad opens_at", func(c *ShowConfig) { c.Queue = &QueueConfig{OpensAt: "tomorrow"} }, "opens_at"},
		{"pass ttl too long", func(c *ShowConfig) { c.Queue = &QueueConfig{PassTTLSeconds: 7201} }, "pass_ttl_seconds"},
		{"negative pass ttl", func(c *ShowConfig) { c.Queue = &QueueConfig{PassTTLSeconds: -1} }, "pass_ttl_seconds"},
		{"negative max_active", func(c *ShowConfig) { c.Queue = &QueueConfig{MaxActive: -1} }, "max_active"},
		{"huge max_active", func(c *ShowConfig) { c.Queue = &QueueConfig{MaxActive: MaxMaxActive + 1} }, "max_active"},
		{"tiny factor", func(c *ShowConfig) { c.Queue = &QueueConfig{AdmitFactor: 0.0001} }, "admit_factor"},
		{"huge factor", func(c *ShowConfig) { c.Queue = &QueueConfig{AdmitFactor: 101} }, "admit_factor"},
		{"waitlist default", func(c *ShowConfig) { c.Waitlist = &WaitlistConfig{} }, ""},
		{"waitlist ttl too long", func(c *ShowConfig) { c.Waitlist = &WaitlistConfig{OfferTTLSeconds: 7201} }, "offer_ttl_seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			c.Normalize()
			err := c.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.err != "" && (err == nil || !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Validate: %v, want invalid_request about %s", err, tc.err)
			}
			if err == nil && c.Queue != nil && (c.Queue.PassTTLSeconds == 0 || c.Queue.MaxActive == 0 || c.Queue.AdmitFactor == 0) {
				t.Fatalf("defaults not filled: %+v", c.Queue)
			}
			if err == nil && c.Waitlist != nil && c.Waitlist.OfferTTLSeconds != c.HoldTTLSeconds {
				t.Fatalf("offer ttl %d, want the hold ttl %d", c.Waitlist.OfferTTLSeconds, c.HoldTTLSeconds)
			}
		})
	}
}

func TestFenwick(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	var f fenwick
	var plain []int
	for i := 0; i < 2000; i++ {
		if r.Intn(3) > 0 || len(plain) == 0 {
			v := r.Intn(2)
			f.push(v)
			plain = append(plain, v)
		} else {
			j := r.Intn(len(plain))
			f.add(j+1, 1-2*plain[j])
			plain[j] = 1 - plain[j]
		}
		k := r.Intn(len(plain) + 1)
		sum := 0
		for _, v := range plain[:k] {
			sum += v
		}
		if got := f.prefix(k); got != sum {
			t.Fatalf("step %d: prefix(%d) = %d, want %d", i, k, got, sum)
		}
	}
}

// TestWaitlistJoinEndsThePass: an admitted user who holds nothing and joins
// the waitlist gives up buying directly: the pass stops counting, and the
// next ticket is admitted in the same step.
func TestWaitlistJoinEndsThePass(t *testing.T) {
	s := New(0)
	cfg := &ShowConfig{ID: "j", Tiers: []Tier{{ID: "a", Price: 1}},
		Sections: []Section{{ID: "s", Tier: "a", Rows: []Row{{ID: "1", Seats: 3}}}},
		Queue:    &QueueConfig{MaxActive: 2}}
	must := func(c Command) Result {
		t.Helper()
		res := s.Apply(c)
		if res.Err != nil {
			t.Fatalf("%s: %v", c.Kind, res.Err)
		}
		return res
	}
	must(Command{Kind: KindCreate, Show: cfg})
	for _, u := range []string{"u1", "u2", "u3"} {
		must(Command{Kind: KindQueueJoin, Now: 1, User: u, Ticket: "t" + u})
	}
	must(Command{Kind: KindHold, Now: 2, User: "u1", HoldID: "h1", Seats: []string{"s-1-2"}, Ticket: "tu1"})
	if v := must(Command{Kind: KindQueueGet, Now: 2, Ticket: "tu3"}).Ticket; v.State != TicketWaiting {
		t.Fatalf("u3 before: %+v", v)
	}
	// seats 1 and 3 are left: two together do not fit, so u2 may wait for them
	must(Command{Kind: KindWaitlistJoin, Now: 3, User: "u2", Entry: "e2", Quantity: 2, Together: true})
	if v := must(Command{Kind: KindQueueGet, Now: 3, Ticket: "tu3"}).Ticket; v.State != TicketAdmitted {
		t.Fatalf("u3 after u2 joined the waitlist: %+v", v)
	}
	if q := s.RoomStats(); q.Live != 2 || q.Unconverted != 1 {
		t.Fatalf("room after: %+v", q)
	}
}
