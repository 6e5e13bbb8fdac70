package seatmap

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// releasedKeys is the memory of released canonical hold ids: a FIFO of
// (key, release time) in release order, and an index from each remembered
// key to its entry's number (numIndex: open addressing, backward-shift
// deletion). It replaced a Go map, which under a minute's churn of releases
// (one insert and, a minute later, one delete per release) kept growing its
// tables to clear their tombstones: runtime.mapassign, most of it growth,
// was 2% of the server's CPU over HTTP at 512 connections; in a profile of
// BenchmarkHoldReleaseStream, rememberReleased took 1.1 µs of a
// hold-and-release pair, 0.7 with a first version of this (bench/README.md,
// issue 12, thirteenth round).
//
// Entries are numbered from base (fifo[0]) up; a number is an entry's for
// its whole life, so the index never moves when the FIFO's front goes. An
// entry whose key was remembered again later (a new release time) stays in
// the FIFO, stale: the index points at the later one. The zero value is
// empty.
type releasedKeys struct {
	fifo  []stamped[idKey]
	base  uint32                         // the number of fifo[0]
	index numIndex[idKey, *releasedKeys] // key -> the number of its live entry
	seed  uint64                         // of hashOf: the hold table's
}

// releasedNumLimit bounds entry numbers: the index stores number+1 in 32
// bits. Reaching it renumbers the entries from 0 (a test lowers it).
var releasedNumLimit uint32 = math.MaxUint32 - 1

func (r *releasedKeys) keyOf(num uint32) idKey { return r.fifo[num-r.base].k }

func (r *releasedKeys) hashOf(k idKey) uint64 {
	h := (k.hi ^ r.seed) * 0x9e3779b97f4a7c15
	h = bits.RotateLeft64(h, 31) ^ k.lo
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// len is the number of keys remembered.
func (r *releasedKeys) len() int { return r.index.n }

// get returns when key k was released, if it is remembered.
func (r *releasedKeys) get(k idKey) (int64, bool) {
	num, ok := r.index.get(r, k)
	if !ok {
		return 0, false
	}
	return r.fifo[num-r.base].at, true
}

// add remembers key k as released at at (not before the FIFO's last entry),
// replacing an earlier time of k. seed is the hash seed an empty memory
// takes.
func (r *releasedKeys) add(k idKey, at int64, seed uint64) {
	if r.index.n == 0 {
		r.seed = seed
	}
	if r.base+uint32(len(r.fifo)) >= releasedNumLimit {
		r.renumber()
	}
	num := r.base + uint32(len(r.fifo))
	r.fifo = append(r.fifo, stamped[idKey]{k, at})
	if !r.index.put(r, num) { // k is remembered: its later release wins
		r.index.del(r, k)
		r.index.put(r, num)
	}
}

// forget forgets the keys released HoldReleasedMemory or more before now,
// calling forgot for each with its release time (not for a stale entry).
func (r *releasedKeys) forget(now int64, forgot func(k idKey, at int64)) {
	n := 0
	for n < len(r.fifo) && r.fifo[n].at+HoldReleasedMemory <= now {
		if r.index.delNum(r, r.fifo[n].k, r.base+uint32(n)) { // not stale
			forgot(r.fifo[n].k, r.fifo[n].at)
		}
		n++
	}
	r.fifo = r.fifo[n:]
	r.base += uint32(n)
	if len(r.fifo) == 0 {
		*r = releasedKeys{fifo: r.fifo[:0], index: r.index} // numbers start again at 0
	}
}

// live reports whether fifo[i] is the entry its key's index points at.
func (r *releasedKeys) live(i int) bool {
	num, ok := r.index.get(r, r.fifo[i].k)
	return ok && num == r.base+uint32(i)
}

// releasedAtMs returns the range of entries of q released at ms at (q is
// in release order).
func releasedAtMs[K comparable](q []stamped[K], at int64) (from, to int) {
	from, _ = slices.BinarySearchFunc(q, at, func(e stamped[K], at int64) int { return cmp.Compare(e.at, at) })
	to = from
	for to < len(q) && q[to].at == at {
		to++
	}
	return from, to
}

// each calls f with every remembered key and its release time, in release
// order.
func (r *releasedKeys) each(f func(k idKey, at int64)) {
	for i, e := range r.fifo {
		if r.live(i) {
			f(e.k, e.at)
		}
	}
}

// renumber numbers the live entries from 0 again, dropping stale ones.
func (r *releasedKeys) renumber() {
	live := make([]stamped[idKey], 0, r.index.n)
	r.each(func(k idKey, at int64) { live = append(live, stamped[idKey]{k, at}) })
	*r = releasedKeys{fifo: live, seed: r.seed}
	for i := range live {
		r.index.put(r, uint32(i))
	}
}

// check checks the FIFO is in release order and every remembered key has
// its entry there (else it would never be forgotten).
func (r *releasedKeys) check() error {
	found := 0
	for i, e := range r.fifo {
		if i > 0 && e.at < r.fifo[i-1].at {
			return fmt.Errorf("released hold %v at %d comes after one released at %d", e.k, e.at, r.fifo[i-1].at)
		}
		if r.live(i) {
			found++
		}
	}
	if found != r.index.n {
		return fmt.Errorf("%d released hold ids remembered, %d of them in the FIFO that forgets them", r.index.n, found)
	}
	return nil
}
