package actors

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// roomNode is a show activation over journal j (and remote, when set), with
// a settable clock and a snapshot every 3 records, so restarts go through
// snapshots that carry the room.
func roomNode(t *testing.T, show string, j *MemJournal, remote Remote, reg Registry, clock *atomic.Int64) *showNode {
	t.Helper()
	n := &showNode{j: j}
	n.env = &Env{Journal: j, Log: testEnv.Log, Registry: reg, SnapshotEvery: 3, NowMs: clock.Load}
	if remote != nil {
		n.env.Remote = remote
	}
	n.pid = testNode.System.Root.Spawn(ShowProps(n.env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(n.pid).Wait() })
	n.b = NewBooking(&fixedPlacement{pid: n.pid}, testNode.System, n.env, BookingOptions{RequestTimeout: 5 * time.Second})
	return n
}

// roomState is everything the API shows of a show's room and waitlist.
type roomState struct {
	Tickets map[string]seatmap.TicketView
	Entries map[string]seatmap.WaitlistEntryView
	Queue   seatmap.QueueStats
}

func readRoom(t *testing.T, b *Booking, show string, tickets, entries []string) roomState {
	t.Helper()
	ctx := context.Background()
	st := roomState{Tickets: map[string]seatmap.TicketView{}, Entries: map[string]seatmap.WaitlistEntryView{}}
	for _, id := range tickets {
		v, err := b.QueueTicket(ctx, "", show, id)
		if err != nil {
			t.Fatalf("ticket %s: %v", id, err)
		}
		st.Tickets[id] = v
	}
	for _, id := range entries {
		v, err := b.WaitlistEntry(ctx, "", show, id)
		if err != nil {
			t.Fatalf("entry %s: %v", id, err)
		}
		st.Entries[id] = v
	}
	doc, err := b.GetShow(ctx, show)
	if err != nil || doc.Queue == nil {
		t.Fatalf("show document: %v (queue %v)", err, doc.Queue)
	}
	st.Queue = *doc.Queue
	return st
}

// TestRoomSurvivesRestartAndFailover: tickets, the pool, the opening
// shuffle, passes, waitlist entries and offers are state of the show: a
// restart from the journal (through snapshots) and a failover to a node that
// has only Redis rebuild them exactly, and the room goes on from there.
func TestRoomSurvivesRestartAndFailover(t *testing.T) {
	ctx := context.Background()
	show := uniq("room")
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	j, fr, reg := NewMemJournal(), newFakeRemote(), &memRegistry{}
	n := roomNode(t, show, j, fr, reg, &clock)
	cfg := smallShow(show, 4)
	cfg.Queue = &seatmap.QueueConfig{OpensAt: time.UnixMilli(clock.Load() + 1000).UTC().Format(time.RFC3339Nano),
		MaxActive: 2, PassTTLSeconds: 600}
	if _, err := n.b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var tickets []string
	byUser := map[string]string{}
	for i := 0; i < 6; i++ {
		u := fmt.Sprint("fan", i)
		v, created, err := n.b.JoinQueue(ctx, show, u)
		if err != nil || !created || v.State != seatmap.TicketWaiting {
			t.Fatalf("join %s: %+v created=%v %v", u, v, created, err)
		}
		tickets = append(tickets, v.ID)
		byUser[u] = v.ID
	}
	before := readRoom(t, n.b, show, tickets, nil)

	// restart before opening: the pool is still there, as it was
	n2 := roomNode(t, show, j, nil, reg, &clock) // no Redis: from the local journal alone
	if got := readRoom(t, n2.b, show, tickets, nil); !reflect.DeepEqual(got, before) {
		t.Fatalf("after a restart:\n got %+v\nwant %+v", got, before)
	}
	_ = testNode.System.Root.StopFuture(n2.pid).Wait()

	// the room opens: two admitted, in the order the shuffle gave
	clock.Add(1500)
	var admitted []string
	eventually(t, 5*time.Second, "the opening", func() error {
		admitted = admitted[:0]
		for _, id := range tickets {
			v, err := n.b.QueueTicket(ctx, "", show, id)
			if err != nil {
				return err
			}
			if v.State == seatmap.TicketAdmitted {
				admitted = append(admitted, v.User)
			}
		}
		if len(admitted) != 2 {
			return fmt.Errorf("%d admitted", len(admitted))
		}
		return nil
	})
	sort.Strings(admitted)
	// the two admitted take the four seats; a waitlist forms
	holdOf := map[string]string{}
	for _, u := range admitted {
		h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: u, Section: "s0", Quantity: 2, Ticket: byUser[u]})
		if err != nil {
			t.Fatalf("hold of admitted %s: %v", u, err)
		}
		holdOf[u] = h.ID
	}
	var entries []string
	for _, u := range []string{"w1", "w2"} {
		e, _, err := n.b.JoinWaitlist(ctx, seatmap.WaitlistRequest{Show: show, User: u, Quantity: 2, Together: true})
		if err != nil {
			t.Fatalf("waitlist %s: %v", u, err)
		}
		entries = append(entries, e.ID)
	}
	// a waiting fan holds nothing: no pass
	for u, id := range byUser {
		if _, isAdmitted := holdOf[u]; !isAdmitted {
			_, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: u, Section: "s0", Quantity: 1, Ticket: id})
			if !errors.Is(err, seatmap.ErrQueueRequired) {
				t.Fatalf("hold of waiting %s: %v, want queue_required", u, err)
			}
			break
		}
	}
	// the first admitted releases: w1 gets the offer, in the same step
	if err := n.b.ReleaseHold(ctx, admitted[0], show, holdOf[admitted[0]]); err != nil {
		t.Fatal(err)
	}
	st := readRoom(t, n.b, show, tickets, entries)
	if e := st.Entries[entries[0]]; e.State != seatmap.EntryOffered || e.HoldID == "" {
		t.Fatalf("w1's entry after the release: %+v", e)
	}
	if e := st.Entries[entries[1]]; e.State != seatmap.EntryWaiting || e.Position != 1 {
		t.Fatalf("w2's entry after the release: %+v", e)
	}
	offered := 0
	for _, e := range j.OutboxEvents() {
		if e.Type == seatmap.EventWaitlistOffered && e.Entry == entries[0] {
			offered++
		}
	}
	if offered != 1 {
		t.Fatalf("%d waitlist.offered events for w1 in the outbox, want 1", offered)
	}

	// failover: a node with an empty disk takes the show from Redis
	other := roomNode(t, show, NewMemJournal(), fr, reg, &clock)
	if got := readRoom(t, other.b, show, tickets, entries); !reflect.DeepEqual(got, st) {
		t.Fatalf("after a failover:\n got %+v\nwant %+v", got, st)
	}
	// and goes on: w1 orders its offer, the entry is accepted
	o, _, err := other.b.CreateOrder(ctx, seatmap.OrderRequest{Show: show, User: "w1", HoldID: st.Entries[entries[0]].HoldID})
	if err != nil {
		t.Fatalf("ordering the offer after the failover: %v", err)
	}
	if e, err := other.b.WaitlistEntry(ctx, "w1", show, entries[0]); err != nil || e.State != seatmap.EntryAccepted || e.OrderID != o.ID {
		t.Fatalf("w1's entry after its order: %+v %v", e, err)
	}
}
