package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSortedRows: rows added in any order come back once each, in key
// order, for sizes of no row, part of a chunk, and several chunks.
func TestSortedRows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, n := range []int{0, 1, 5, sortChunkRows, 3*sortChunkRows + 17} {
		s := newSortedRows()
		var keys []string
		for _, i := range rng.Perm(n) {
			k := fmt.Sprintf("k%08d", i)
			keys = append(keys, k)
			s.add(k, []byte(k))
		}
		got := s.rows()
		slices.Sort(keys)
		if len(got) != n {
			t.Fatalf("seed %d, %d rows: got %d", seed, n, len(got))
		}
		for i, r := range got {
			if r.Key != keys[i] || string(r.Value) != r.Key {
				t.Fatalf("seed %d, %d rows: row %d is %s=%s, want %s", seed, n, i, r.Key, r.Value, keys[i])
			}
		}
	}
}
