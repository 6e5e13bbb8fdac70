package seatmap

import (
	"math/rand"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestHoldIndexMatchesMap: random puts, gets and deletes on a holdIndex
// and a Go map agree at every step, through growth, shrinking and probe
// runs that wrap around the table.
func TestHoldIndexMatchesMap(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for _, keys := range []int{20, 300, 5000} { // few keys: long runs and wrap-around; many: growth
		x := newHoldIndex(0)
		m := map[string]*hold{}
		for step := 0; step < 40_000; step++ {
			id := "h" + strconv.Itoa(rng.Intn(keys))
			switch op := rng.Intn(10); {
			case op < 4:
				h := &hold{id: id}
				_, had := m[id]
				if added := x.put(h); added == had {
					t.Fatalf("seed %d step %d: put(%s) = %v with the key present %v", seed, step, id, added, had)
				}
				if !had {
					m[id] = h
				}
			case op < 7:
				x.del(id)
				delete(m, id)
			default:
				got, ok := x.get(id)
				want, wok := m[id]
				if ok != wok || got != want {
					t.Fatalf("seed %d step %d: get(%s) = %p %v, want %p %v", seed, step, id, got, ok, want, wok)
				}
			}
			if x.len() != len(m) {
				t.Fatalf("seed %d step %d: len %d, want %d", seed, step, x.len(), len(m))
			}
		}
		n := 0
		for h := range x.all() {
			if m[h.id] != h {
				t.Fatalf("seed %d: all() yields %s, not in the map", seed, h.id)
			}
			n++
		}
		if n != len(m) {
			t.Fatalf("seed %d: all() yields %d holds, want %d", seed, n, len(m))
		}
		for id := range m { // empty it: the table shrinks back
			x.del(id)
		}
		if x.len() != 0 || len(x.slots) > ptrIndexMinSlots*2 {
			t.Fatalf("seed %d: emptied table has %d holds in %d slots", seed, x.len(), len(x.slots))
		}
	}
}

// TestTalliesMatchMap: tallies add as a map's += does (a zero add makes a
// tally), and take drops a tally at zero, as the shard's map did.
func TestTalliesMatchMap(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	x, m := newTallies(0), map[string]int{}
	for step := 0; step < 20_000; step++ {
		u := "u" + strconv.Itoa(rng.Intn(200))
		d := rng.Intn(3)
		switch rng.Intn(3) {
		case 0:
			if got := x.add(u, d); got != m[u]+d {
				t.Fatalf("seed %d step %d: add(%s, %d) = %d, want %d", seed, step, u, d, got, m[u]+d)
			}
			m[u] += d
		case 1:
			if d > m[u] {
				d = m[u]
			}
			if _, ok := m[u]; !ok {
				continue
			}
			x.take(u, d)
			if m[u] -= d; m[u] == 0 {
				delete(m, u)
			}
		default:
			if x.of(u) != m[u] {
				t.Fatalf("seed %d step %d: of(%s) = %d, want %d", seed, step, u, x.of(u), m[u])
			}
		}
		if x.len() != len(m) {
			t.Fatalf("seed %d step %d: %d tallies, want %d", seed, step, x.len(), len(m))
		}
	}
	if got := x.asMap(); !reflect.DeepEqual(got, m) {
		t.Fatalf("seed %d: asMap %v, want %v", seed, got, m)
	}
}
