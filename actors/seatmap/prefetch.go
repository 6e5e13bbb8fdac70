package seatmap

// A restored hold is added to two hash indexes (the holds' by id, the
// users' by name), and each insert's probe misses the cache once a show
// holds a few hundred thousand holds: the indexes are tens of megabytes,
// their slots hit at random. Added one after the other, the holds of a
// batch wait for those misses one at a time. touchHolds first loads the
// index words where each hold's probes will start, one independent load
// after another, so the processor overlaps their misses; the inserts that
// follow find the words in the cache. It changes nothing (the loads go
// into a sink), and stays pure: a memory read. BenchmarkRestoreBatches
// (1,000,000 holds in HSCAN's random order, 2026-11-28, 2 vCPUs): AddBatch
// and Finish 0.69-0.81 s without, 0.59-0.68 s with (groups of 16, 64 and
// 256 alike).

// touchBatches turns touchHolds on (off: BenchmarkRestoreBatches's
// baseline).
var touchBatches = true

// touchGroup is how many holds are touched at a time, before they are
// added, so that their words are still in the cache and the TLB then.
const touchGroup = 64

// touchHolds loads the index words the holds will probe (see above).
func (s *Shard) touchHolds(holds []batchHold) {
	var sink uint32
	for i := range holds {
		h := &holds[i]
		if h.token {
			sink ^= s.holds.index.touch(&s.holds, h.key)
		}
		sink ^= s.users.index.touch(&s.users, h.user)
	}
	s.touched ^= sink
}

// touch loads the tag and slot words at k's home (0 for a part without
// slots).
func (x *numIndex[K, T]) touch(t T, k K) uint32 {
	h := t.hashOf(k)
	p := x.part(h)
	if len(p.slots) == 0 {
		return 0
	}
	i, _ := p.home(h)
	return p.slots[i].tag
}

// home returns the tag word at k's home, where a probe for k starts (nil
// for a part without slots).
func (x *numIndex[K, T]) home(t T, k K) *uint32 {
	h := t.hashOf(k)
	p := x.part(h)
	if len(p.slots) == 0 {
		return nil
	}
	i, _ := p.home(h)
	return &p.slots[i].tag
}

// TouchRun loads the index words that the commands' applies will probe
// first: the holds' at each hold id, and for a hold the users' at its user.
// A caller with several commands in hand (the show actor's run of queued
// requests) touches them all before it applies the first, so that their
// misses overlap (as touchHolds does for a restore). It works out every
// word's address first and then loads them in a loop of nothing else: with
// an id parsed and two names hashed between two loads, the processor had
// about one miss in flight at a time and the loads cost what the probes
// would have (issue 12: a sixth of the actor's CPU at 64 callers). It
// changes nothing; a word touched before an earlier command of the run grew
// the index is merely not the one probed.
func (s *Shard) TouchRun(cmds []*Command) {
	if !s.created {
		return
	}
	words := s.touchWords[:0]
	for _, c := range cmds {
		words = s.appendHomes(words, c)
	}
	var sink uint32
	for _, w := range words {
		sink ^= *w
	}
	s.touched ^= sink
	clear(words) // no hold on an index array a later resize drops
	s.touchWords = words[:0]
}

// appendHomes appends the home words of c's probes (see TouchRun).
func (s *Shard) appendHomes(words []*uint32, c *Command) []*uint32 {
	if c.HoldID == "" {
		return words
	}
	switch c.Kind {
	case KindHold, KindRelease, KindExtend, KindOrder, KindGetHold:
	default:
		return words
	}
	if k, ok := s.holds.canonical(c.HoldID); ok {
		if w := s.holds.index.home(&s.holds, k); w != nil {
			words = append(words, w)
		}
	}
	if c.Kind == KindHold && c.User != "" {
		if w := s.users.index.home(&s.users, c.User); w != nil {
			words = append(words, w)
		}
	}
	return words
}
