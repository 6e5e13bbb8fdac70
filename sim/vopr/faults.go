package vopr

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

var errDisk = errors.New("simulated disk: input/output error")

// runChaos injects faults at random moments, each with its heal, in the
// mix the seed chose.
func (w *world) runChaos(p *proc) {
	s := w.s
	c := w.cfg
	kinds := []struct {
		name   string
		weight float64
		do     func()
	}{
		{"journal", c.wJournal, w.journalFault},
		{"crash", c.wCrash, w.crashFault},
		{"clock", c.wClock, w.clockFault},
		{"redis-cut", c.wRedisCut, w.redisCutFault},
		{"redis-lose-reply", c.wRedisLose, func() {
			n := w.nodes[s.rng.IntN(len(w.nodes))]
			if n.alive && n.redis != nil {
				n.redis.LoseReplies(1 + s.rng.IntN(3))
			}
		}},
		{"redis-data-loss", c.wRedisLoss, func() {
			lost := w.redis.LoseWrites(1 + s.rng.IntN(4))
			s.trace.add(s.now, s.steps, -1, "  redis lost its last writes", lost)
		}},
		{"move", c.wMove, func() { w.move(w.shows[s.rng.IntN(len(w.shows))].id, -1, false) }},
		{"partition", c.wPartition, w.partitionFault},
	}
	total := 0.0
	for _, k := range kinds {
		total += k.weight
	}
	if total == 0 {
		return
	}
	for {
		s.sleep(p, -1, s.between(0, 2*c.faultEvery))
		r := s.rng.Float64() * total
		for _, k := range kinds {
			if r < k.weight {
				w.faults[k.name]++
				s.trace.add(s.now, s.steps, -1, "FAULT "+k.name, nil)
				k.do()
				break
			}
			r -= k.weight
		}
	}
}

// journalFault fails the next writes of a node's journal, or every write
// for a while.
func (w *world) journalFault() {
	s := w.s
	n := w.nodes[s.rng.IntN(len(w.nodes))]
	if s.chance(0.5) {
		if d, ok := n.journal.(*pebbleDisk); ok {
			d.failSyncNext(s.chance(0.5))
		}
		n.journal.FailNext(1+s.rng.IntN(3), errDisk)
		return
	}
	n.journal.FailWith(errDisk)
	j := n.journal
	s.after(s.between(10*time.Millisecond, 2*time.Second), -1, "heal disk", fmt.Sprintf("node%d", n.id), func() {
		j.FailWith(nil)
	})
}

// crashFault kills a node; it restarts later. With more nodes, its shows
// fail over once the cluster notices it is gone.
func (w *world) crashFault() {
	s := w.s
	n := w.nodes[s.rng.IntN(len(w.nodes))]
	if n.alive {
		n.crashNow()
	}
}

// crashNow kills n (keeping or losing its failed writes) and schedules its
// restart and, with more nodes, the fail-over of its shows.
func (n *node) crashNow() {
	w := n.w
	s := w.s
	n.crash(s.chance(0.5))
	inc := n.inc
	down := s.between(10*time.Millisecond, 3*time.Second)
	s.after(down, -1, "restart", fmt.Sprintf("node%d", n.id), func() {
		if !n.alive && n.inc == inc {
			n.start()
		}
	})
	if len(w.nodes) > 1 {
		s.after(s.between(300*time.Millisecond, 2*time.Second), -1, "failover", fmt.Sprintf("node%d", n.id), func() {
			if n.alive && n.inc != inc {
				return // it came back first
			}
			for _, st := range w.shows {
				if w.owner[st.id] == n.id {
					w.move(st.id, n.id, false)
				}
			}
		})
	}
}

// clockFault makes a node's clock jump forward.
func (w *world) clockFault() {
	n := w.nodes[w.s.rng.IntN(len(w.nodes))]
	n.clock.offset += w.s.between(100*time.Millisecond, 20*time.Second)
}

// redisCutFault cuts a node off from Redis for a while.
func (w *world) redisCutFault() {
	s := w.s
	n := w.nodes[s.rng.IntN(len(w.nodes))]
	n.setRedisCut(true)
	s.after(s.between(50*time.Millisecond, 4*time.Second), -1, "heal redis link", fmt.Sprintf("node%d", n.id), func() {
		if !n.isolated {
			n.setRedisCut(false)
		}
	})
}

func (n *node) setRedisCut(cut bool) {
	n.redisCut = cut
	if n.alive && n.redis != nil {
		n.redis.SetDown(cut)
	}
}

// partitionFault cuts a node off from Redis and from the other nodes, not
// from its clients; the others move its shows away, while it still
// believes it owns them. Then it heals.
func (w *world) partitionFault() {
	s := w.s
	n := w.nodes[s.rng.IntN(len(w.nodes))]
	if n.isolated {
		return
	}
	n.isolated = true
	n.setRedisCut(true)
	for _, st := range w.shows {
		if w.owner[st.id] == n.id {
			w.move(st.id, n.id, true)
		}
	}
	s.after(s.between(100*time.Millisecond, 5*time.Second), -1, "heal partition", fmt.Sprintf("node%d", n.id), func() {
		n.isolated = false
		n.setRedisCut(false)
		for show, o := range w.owner {
			n.view[show] = o
		}
	})
}

// move gives show a new owner (not avoid, not an isolated or dead node
// when another can take it): the other nodes route to it. A reachable old
// owner stops its activation (a handover); an unreachable one (keepOld)
// goes on believing it owns the show.
func (w *world) move(show string, avoid int, keepOld bool) {
	s := w.s
	var cands []int
	for _, n := range w.nodes {
		if n.id != avoid && n.id != w.owner[show] && n.alive && !n.isolated {
			cands = append(cands, n.id)
		}
	}
	if len(cands) == 0 {
		return
	}
	old := w.nodes[w.owner[show]]
	to := cands[s.rng.IntN(len(cands))]
	w.owner[show] = to
	s.trace.add(s.now, s.steps, -1, "  placement", fmt.Sprintf("%s: node%d -> node%d", show, old.id, to))
	for _, n := range w.nodes {
		if !n.isolated {
			n.view[show] = to
		}
	}
	if !keepOld && old.alive && !old.isolated {
		if a := old.acts[show]; a != nil && !a.dead && !a.stopped {
			(&actx{a: a}).Poison(&actor.PID{})
		}
	}
}
