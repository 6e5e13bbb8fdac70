package seatmap

import (
	"math/rand"
	"testing"
	"time"
)

// TestReleasedKeysModel drives the memory of released keys against a map
// (the structure it replaced): seeded adds (some of a key remembered again,
// a later time winning), forgets at advancing times, lookups of remembered,
// forgotten and unknown keys, and the entry numbers' limit set low so that
// they renumber many times.
func TestReleasedKeysModel(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	defer func(l uint32) { releasedNumLimit = l }(releasedNumLimit)
	releasedNumLimit = 1000

	var r releasedKeys
	model := map[idKey]int64{}
	var known []idKey
	now := int64(1_000_000)
	for step := 0; step < 200_000; step++ {
		switch op := rng.Intn(100); {
		case op < 60: // a release (a new key, or again one known)
			now += rng.Int63n(40)
			k := idKey{rng.Uint64(), rng.Uint64()}
			if len(known) > 0 && rng.Intn(8) == 0 {
				k = known[rng.Intn(len(known))]
			} else {
				known = append(known, k)
			}
			r.add(k, now, 7)
			model[k] = now
		case op < 62: // a forget
			now += rng.Int63n(HoldReleasedMemory / 4)
			forgot := map[idKey]bool{}
			r.forget(now, func(k idKey, _ int64) {
				if forgot[k] {
					t.Fatalf("step %d: %v forgotten twice", step, k)
				}
				forgot[k] = true
			})
			for k, at := range model {
				if due := at+HoldReleasedMemory <= now; due != forgot[k] {
					t.Fatalf("step %d: key released at %d, forget at %d: forgotten %v", step, at, now, forgot[k])
				}
				if forgot[k] {
					delete(model, k)
				}
			}
			if len(forgot) != 0 && len(model) == 0 && (r.base != 0 || len(r.fifo) != 0) {
				t.Fatalf("step %d: empty memory at base %d with %d entries", step, r.base, len(r.fifo))
			}
		default: // a lookup
			k := idKey{rng.Uint64(), rng.Uint64()}
			if len(known) > 0 && rng.Intn(4) != 0 {
				k = known[rng.Intn(len(known))]
			}
			at, ok := r.get(k)
			if want, wok := model[k]; ok != wok || at != want {
				t.Fatalf("step %d: get %v = %d %v, want %d %v", step, k, at, ok, want, wok)
			}
		}
		if r.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, r.len(), len(model))
		}
		if r.base+uint32(len(r.fifo)) > releasedNumLimit {
			t.Fatalf("step %d: numbers up to %d, past the limit %d", step, r.base+uint32(len(r.fifo)), releasedNumLimit)
		}
		if step%997 == 0 {
			if err := r.check(); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			n := 0
			r.each(func(k idKey, at int64) {
				if model[k] != at {
					t.Fatalf("step %d: each gave %v at %d, want %d", step, k, at, model[k])
				}
				n++
			})
			if n != len(model) {
				t.Fatalf("step %d: each gave %d keys, want %d", step, n, len(model))
			}
		}
	}
}
