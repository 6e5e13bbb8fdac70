package seatmap

import "sort"

// Best-available selection. For a quantity q in a list of sections (in
// preference order), in three passes, each over all the sections before the
// next pass starts:
//
//  1. q adjacent seats in one row (or q units of a GA section) leaving no
//     orphan: no single free seat between the block and a taken seat or the
//     row's end. Rows closest to the stage first; within a row the block
//     closest to the row's centre.
//  2. q adjacent seats in one row, orphans allowed (fewest orphans first).
//  3. The best split inside one section: the fewest blocks, largest blocks
//     first, closer rows breaking ties.
//
// It fails with ErrSoldOut when no section has q seats left.

type placement struct {
	start   uint32
	orphans int
	dist    int // twice the distance between the block's centre and the row's
	ok      bool
}

func better(a, b placement) bool {
	if !b.ok {
		return true
	}
	if a.orphans != b.orphans {
		return a.orphans < b.orphans
	}
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	return a.start < b.start
}

// pickBest picks q seats in secs: a GA part, adjacent seats, or seats split
// over rows (ErrSoldOut when none fit). The GA part it returns is the
// shard's scratch (s.pick.ga), good until the next pick: callers copy what
// they keep (factParts, generalMap, gaParts do).
func (s *Shard) pickBest(secs []*section, q int) ([]uint32, []gaPart, error) {
	if len(secs) == 0 {
		return nil, nil, ErrSoldOut
	}
	for pass := 1; pass <= 2; pass++ {
		for _, sec := range secs {
			if sec.counts[Available] < q {
				continue
			}
			if sec.ga {
				s.pick.ga[0] = gaPart{sec: sec, n: q}
				return nil, s.pick.ga[:], nil
			}
			if p := s.bestRun(sec, q, pass == 2); p.ok {
				return run(p.start, q), nil, nil
			}
		}
	}
	for _, sec := range secs {
		if !sec.ga && sec.counts[Available] >= q {
			return s.split(sec, q), nil, nil
		}
	}
	return nil, nil, ErrSoldOut
}

func run(start uint32, q int) []uint32 {
	out := make([]uint32, q)
	for i := range out {
		out[i] = start + uint32(i)
	}
	return out
}

// bestRun finds the best block of q adjacent free seats in the section: in
// the closest row that has one with no orphan (or, with orphansOK, the
// closest row with any block, fewest orphans first).
func (s *Shard) bestRun(sec *section, q int, orphansOK bool) placement {
	for _, ri := range sec.order {
		r := &sec.rows[ri]
		if r.avail < q || !s.mayPlace(r, q, orphansOK) {
			continue
		}
		best := placement{}
		s.blocks(r, func(b uint32, l int) {
			if l < q {
				return
			}
			for st := b; st+uint32(q) <= b+uint32(l); st++ {
				left, right := int(st-b), int(b+uint32(l)-st-uint32(q))
				p := placement{start: st, ok: true}
				if left == 1 {
					p.orphans++
				}
				if right == 1 {
					p.orphans++
				}
				if p.orphans > 0 && !orphansOK {
					continue
				}
				// centre of the block vs centre of the row, doubled to stay integral
				p.dist = abs(2*int(st-r.base) + q - r.n)
				if better(p, best) {
					best = p
				}
			}
		})
		if best.ok {
			return best
		}
	}
	return placement{}
}

// mayPlace reports whether the row has a block of q free seats (leaving no
// orphan unless orphansOK): exactly what the scan of its blocks would find,
// from the row's summary, so that full and fragmented rows cost nothing.
func (s *Shard) mayPlace(r *row, q int, orphansOK bool) bool {
	if r.stale {
		r.maxBlock, r.lens = 0, 0
		s.blocks(r, func(_ uint32, l int) {
			r.maxBlock = max(r.maxBlock, l)
			if l < 64 {
				r.lens |= 1 << l
			}
		})
		r.stale = false
	}
	if orphansOK || q >= 64 {
		return r.maxBlock >= q // (for q >= 64 without orphans: the scan decides)
	}
	// a block of l takes q with no orphan iff l == q or l >= q+2
	return r.maxBlock >= q+2 || r.lens&(1<<q) != 0
}

// blocks calls f for each maximal run of free seats in the row.
func (s *Shard) blocks(r *row, f func(start uint32, length int)) {
	end := r.base + uint32(r.n)
	for i := r.base; i < end; {
		if s.seats[i] != Available {
			i++
			continue
		}
		j := i
		for j < end && s.seats[j] == Available {
			j++
		}
		f(i, int(j-i))
		i = j
	}
}

// split takes q seats from the section in the fewest blocks: largest blocks
// first, closer rows first among equals; from the last block it takes seats
// from the block's edge.
func (s *Shard) split(sec *section, q int) []uint32 {
	type blk struct {
		start uint32
		n     int
		rank  int
	}
	var all []blk
	for rank, ri := range sec.order {
		s.blocks(&sec.rows[ri], func(b uint32, l int) { all = append(all, blk{b, l, rank}) })
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].rank < all[j].rank
	})
	out := make([]uint32, 0, q)
	for _, b := range all {
		take := b.n
		if take > q-len(out) {
			take = q - len(out)
		}
		for i := 0; i < take; i++ {
			out = append(out, b.start+uint32(i))
		}
		if len(out) == q {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
