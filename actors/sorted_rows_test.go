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
// or many (merged in one pass); keys of any bytes and lengths: long common
// prefixes, zero bytes, keys that are prefixes of others.
func TestSortedRows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	keyOf := []func(n int) string{
		func(n int) string { return fmt.Sprintf("k%08d", rng.IntN(max(1, n))) },
		func(n int) string { // a hold's key: kind byte, show, token
			return fmt.Sprintf("\x06show-with-a-long-id~%026d", rng.IntN(max(1, n)))
		},
		func(int) string { // short, with zero bytes, prefixes of each other
			b := make([]byte, rng.IntN(20))
			for i := range b {
				b[i] = "\x00\x01a"[rng.IntN(3)]
			}
			return string(b)
		},
	}
	keyOf = append(keyOf, func(n int) string { // a show's rows: mostly holds, some others
		if rng.IntN(100) == 0 {
			return keyOf[2](n)
		}
		return keyOf[1](n)
	})
	for _, n := range []int{0, 1, 7, 1000, sortChunkRows + 1, 3*sortChunkRows + 123} {
		for kind, key := range keyOf {
			s := newSortedRows()
			var keys []string
			for i := 0; i < n; i++ {
				k := key(n)
				keys = append(keys, k)
				s.add(k, []byte(k))
			}
			got := s.rows()
			slices.Sort(keys)
			if len(got) != len(keys) {
				t.Fatalf("seed %d, %d rows of kind %d: got %d", seed, n, kind, len(got))
			}
			for i, r := range got {
				if r.Key != keys[i] || string(r.Value) != r.Key {
					t.Fatalf("seed %d, %d rows of kind %d: row %d = %q=%q, want %q", seed, n, kind, i, r.Key, r.Value, keys[i])
				}
			}
		}
	}
}

// TestMergeRuns: runs (some empty) merge into one in key order.
func TestMergeRuns(t *testing.T) {
	run := func(keys ...string) []facts.Row {
		rows := make([]facts.Row, len(keys))
		for i, k := range keys {
			rows[i] = facts.Row{Key: k}
		}
		return sortRun(rows)
	}
	for _, tc := range []struct {
		runs [][]facts.Row
		want string
	}{
		{nil, "[]"},
		{[][]facts.Row{run("c", "a")}, "[a c]"},
		{[][]facts.Row{run(), run("b"), run()}, "[b]"},
		{[][]facts.Row{run("a", "d"), run("b", "e"), run("c", "f")}, "[a b c d e f]"},
		{[][]facts.Row{run("a", "a"), run("a"), run("0", "z")}, "[0 a a a z]"},
		{[][]facts.Row{run("abcdefgh2", "abcdefgh"), run("abcdefgh1", "abcdefg")}, "[abcdefg abcdefgh abcdefgh1 abcdefgh2]"},
		{[][]facts.Row{run("p~a", "p~b", "\x01c"), run("p~ab", "p", "p~a\x00"), run("q", "p~")}, "[\x01c p p~ p~a p~a\x00 p~ab p~b q]"},
	} {
		keys := []string{}
		for _, r := range mergeRuns(tc.runs) {
			keys = append(keys, r.Key)
		}
		if got := fmt.Sprint(keys); got != tc.want {
			t.Errorf("merge = %s, want %s", got, tc.want)
		}
	}
}
