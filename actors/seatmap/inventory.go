package seatmap

import (
	"strconv"

	"github.com/boxoffice/boxoffice/facts"
)

// Inventory: every command that changed a seat or a GA count emits one
// InventoryEvent (through Ready.Inventory) with the sequence number of its
// record, so that a follower (the SSE stream, a cache, an analytics job) can
// follow a show exactly. Replay emits nothing.

// Show-level event types for the outbox (Event.Type, Event.Show set, no order).
const (
	// EventShowSoldOut: the show's total availability reached 0.
	EventShowSoldOut = facts.EventShowSoldOut
	// EventShowAvailable: the show's total availability left 0.
	EventShowAvailable = facts.EventShowAvailable
	// EventInventory is the outbox type of an inventory event (Event.Inventory set).
	EventInventory = facts.EventInventory
)

// SeatChange is one seat's new state.
type SeatChange = facts.SeatChange

// GACount is a GA section's counters after a change.
type GACount = facts.GACount

// InventoryEvent is what one state-changing command did to the show's seats
// and counts (see facts.InventoryEvent).
type InventoryEvent = facts.InventoryEvent

// invTrack collects what the command being applied changes.
type invTrack struct {
	seats      []uint32
	secs       []*section // touched sections, in first-touch order
	ga         []*section // touched GA sections
	availDelta int
	returned   bool // some seat or unit became available (the waitlist's cue)
}

func (t *invTrack) reset() {
	t.seats = t.seats[:0]
	t.secs = t.secs[:0]
	t.ga = t.ga[:0]
	t.availDelta = 0
	t.returned = false
}

func addSec(list []*section, sec *section) []*section {
	for _, x := range list {
		if x == sec {
			return list
		}
	}
	return append(list, sec)
}

func (t *invTrack) seat(seat uint32, sec *section, from, to SeatState) {
	if from == to {
		return
	}
	t.seats = append(t.seats, seat)
	t.secs = addSec(t.secs, sec)
	if from == Available {
		t.availDelta--
	}
	if to == Available {
		t.availDelta++
		t.returned = true
	}
}

func (t *invTrack) general(sec *section, n int, from, to SeatState) {
	if from == to || n == 0 {
		return
	}
	t.secs = addSec(t.secs, sec)
	t.ga = addSec(t.ga, sec)
	if from == Available {
		t.availDelta -= n
	}
	if to == Available {
		t.availDelta += n
		t.returned = true
	}
}

// totalAvailable is the show's availability over all sections.
func (s *Shard) totalAvailable() int {
	n := 0
	for _, sec := range s.sections {
		n += sec.counts[Available]
	}
	return n
}

// emitInventory queues the inventory event of the command just applied as
// record seq, and show.sold_out / show.available when the total crossed 0.
func (s *Shard) emitInventory(c *Command, seq uint64) {
	t := &s.inv
	if len(t.secs) == 0 {
		return
	}
	ev := InventoryEvent{Show: s.cfg.ID, Seq: seq, Cause: c.Kind.String(), At: c.Now,
		Changes: make([]SeatChange, 0, len(t.seats)), GA: s.gaChunks.take(len(t.ga)), Sections: s.sectionChunks.take(len(t.secs))}
	for _, seat := range t.seats {
		ev.Changes = append(ev.Changes, SeatChange{Seat: s.seatID(seat), State: s.seats[seat].String()})
	}
	for i, sec := range t.ga {
		ev.GA[i] = GACount{Section: sec.id, Available: sec.counts[Available], Held: sec.counts[Held],
			Reserved: sec.counts[Reserved], Sold: sec.counts[Sold]}
	}
	for i, sec := range t.secs {
		ev.Sections[i] = SectionView{ID: sec.id, Tier: sec.tier, Capacity: sec.cap,
			Available: sec.counts[Available], Held: sec.counts[Held], Reserved: sec.counts[Reserved], Sold: sec.counts[Sold]}
	}
	ev.Available = s.totalAvailable()
	if s.ready.Inventory == nil && s.lastTurn > 1 { // as busy as a recent busy turn, likely: no growth copies
		s.ready.Inventory = make([]InventoryEvent, 0, s.turnCap())
	}
	s.ready.Inventory = append(s.ready.Inventory, ev)
	before := ev.Available - t.availDelta
	var typ string
	switch {
	case before > 0 && ev.Available == 0:
		typ = EventShowSoldOut
	case before == 0 && ev.Available > 0:
		typ = EventShowAvailable
	default:
		return
	}
	// deterministic id: the record that crossed, so a redelivery dedupes
	s.ready.Events = append(s.ready.Events, Event{ID: s.cfg.ID + ".show." + strconv.FormatUint(seq, 10), Type: typ, Show: s.cfg.ID,
		Shard: s.shard, At: c.Now, Quantity: ev.Available})
}
