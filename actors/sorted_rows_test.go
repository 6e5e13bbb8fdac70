package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// TestSortedRows: rows added in any order come back in key order, every
// one (a key added twice is there twice), whether they fill no chunk, one,
// or many (merged in one pass).
func TestSortedRows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, n := range []int{0, 1, 7, sortChunkRows, sortChunkRows + 1, 5*sortChunkRows + 123} {
		s := newSortedRows()
		var keys []string
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%08d", rng.IntN(max(1, n)))
			keys = append(keys, k)
			s.add(k, []byte(k))
		}
		got := s.rows()
		slices.Sort(keys)
		if len(got) != len(keys) {
			t.Fatalf("seed %d, %d rows: got %d", seed, n, len(got))
		}
		for i, r := range got {
			if r.Key != keys[i] || string(r.Value) != r.Key {
				t.Fatalf("seed %d, %d rows: row %d = %s=%s, want %s", seed, n, i, r.Key, r.Value, keys[i])
			}
		}
	}
}

// TestMergeRuns: runs (some empty) merge into one in key order.
func TestMergeRuns(t *testing.T) {
	row := func(k string) facts.Row { return facts.Row{Key: k} }
	for _, tc := range []struct {
		runs [][]facts.Row
		want string
	}{
		{nil, "[]"},
		{[][]facts.Row{{row("a"), row("c")}}, "[a c]"},
		{[][]facts.Row{{}, {row("b")}, {}}, "[b]"},
		{[][]facts.Row{{row("a"), row("d")}, {row("b"), row("e")}, {row("c"), row("f")}}, "[a b c d e f]"},
		{[][]facts.Row{{row("a"), row("a")}, {row("a")}, {row("0"), row("z")}}, "[0 a a a z]"},
	} {
		var keys []string
		for _, r := range mergeRuns(tc.runs) {
			keys = append(keys, r.Key)
		}
		if got := fmt.Sprint(keys); got != tc.want && !(tc.want == "[]" && keys == nil) {
			t.Errorf("merge %v = %s, want %s", tc.runs, got, tc.want)
		}
	}
}
