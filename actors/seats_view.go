package actors

import (
	"sync/atomic"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// seatsView is an immutable copy of a show's seat states, published by its
// actor at the end of each turn that changed state, so that GET .../seats is
// served without a message to the actor. A view shares with the previous
// one every chunk of seats the turn did not change (seatmap.SeatsView), so
// the actor pays per turn for the chunks it changed, not for the show's
// size, and nothing per read.
// The copy is taken when the turn's batch goes to the writer, so it may show
// a turn's seats up to one sync before they are acknowledged (after a failed
// write the show reloads and publishes again).
type seatsView struct {
	layout *seatmap.SeatLayout // shared by every view of the show
	states *seatmap.SeatsView
	seq    uint64 // the shard's sequence number
	gen    uint64 // the actor's generation (bumped when a write failed)
}

// seatsViewOf returns the latest view of a show active on this node, or nil.
func (e *Env) seatsViewOf(identity string) *seatsView {
	p, ok := e.seatsViews.Load(identity)
	if !ok {
		return nil
	}
	return p.(*atomic.Pointer[seatsView]).Load()
}

// publishSeats publishes the shard's seat states when they may have changed
// since the last view (called by the actor at the end of a turn).
func (a *showActor) publishSeats() {
	if a.shard == nil || !a.shard.Created() || a.fenced {
		return
	}
	last := a.seatsPub
	if last != nil && last.seq == a.shard.Seq() && last.gen == a.gen {
		return
	}
	var prev *seatmap.SeatsView
	if last != nil {
		prev = last.states
	}
	v := &seatsView{seq: a.shard.Seq(), gen: a.gen, states: a.shard.SeatsView(prev)}
	if last != nil {
		v.layout = last.layout
	} else {
		v.layout = a.shard.SeatLayout()
	}
	// Load first: LoadOrStore would allocate a pointer per flush (a stale
	// activation's Delete is healed by the next flush's LoadOrStore)
	p, ok := a.env.seatsViews.Load(a.identity)
	if !ok {
		p, _ = a.env.seatsViews.LoadOrStore(a.identity, new(atomic.Pointer[seatsView]))
	}
	p.(*atomic.Pointer[seatsView]).Store(v)
	a.seatsPub = v
}

// unpublishSeats forgets the show's view (the activation stops).
func (a *showActor) unpublishSeats() {
	a.env.seatsViews.Delete(a.identity)
	a.seatsPub = nil
}
