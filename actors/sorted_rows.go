package actors

import (
	"slices"
	"strings"

	"github.com/boxoffice/boxoffice/facts"
)

// sortedRows puts a show's state rows in key order as they are read: each
// chunk is sorted on a goroutine of its own while the next is read, and the
// sorted chunks are merged at the end. A store takes a whole state far
// faster in key order: Pebble sorts a big batch by key before applying it
// (on a 1,000,000-row show, ~0.75 s of comparisons of encoded keys), and a
// sorted batch is one pass.
//
// Callers' duties: add rows (kept as given: key and value must not be
// reused), then call rows once.
type sortedRows struct {
	cur []facts.Row
	in  chan []facts.Row   // full chunks, to the sorter
	out chan [][]facts.Row // the sorted chunks, once in is closed
}

// sortChunkRows is how many rows are sorted at a time.
const sortChunkRows = 1 << 16

func newSortedRows() *sortedRows {
	s := &sortedRows{in: make(chan []facts.Row, 64), out: make(chan [][]facts.Row, 1)}
	go s.sort()
	return s
}

func (s *sortedRows) add(key string, value []byte) {
	if s.cur == nil {
		s.cur = make([]facts.Row, 0, sortChunkRows)
	}
	s.cur = append(s.cur, facts.Row{Key: key, Value: value})
	if len(s.cur) == sortChunkRows {
		s.in <- s.cur
		s.cur = nil
	}
}

func (s *sortedRows) sort() {
	var chunks [][]facts.Row
	for c := range s.in {
		slices.SortFunc(c, cmpRowKeys)
		chunks = append(chunks, c)
	}
	s.out <- chunks
}

// rows returns every row added, in key order (a key added twice is there
// twice).
func (s *sortedRows) rows() []facts.Row {
	if len(s.cur) > 0 {
		s.in <- s.cur
	}
	s.cur = nil
	close(s.in)
	return mergeRuns(<-s.out)
}

func cmpRowKeys(a, b facts.Row) int { return strings.Compare(a.Key, b.Key) }

// mergeRuns merges runs sorted by key into one, in one pass: the runs'
// heads in a binary heap (a pairwise merge moves every row log2(runs)
// times: ~160 MB of copies for a 1,000,000-row show in 16 runs).
func mergeRuns(runs [][]facts.Row) []facts.Row {
	switch len(runs) {
	case 0:
		return nil
	case 1:
		return runs[0]
	}
	n := 0
	h := make([][]facts.Row, 0, len(runs)) // non-empty runs, smallest head first
	for _, r := range runs {
		n += len(r)
		if len(r) > 0 {
			h = append(h, r)
		}
	}
	less := func(i, j int) bool { return h[i][0].Key < h[j][0].Key }
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && less(c+1, c) {
				c++
			}
			if !less(c, i) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	out := make([]facts.Row, 0, n)
	for len(h) > 1 {
		out = append(out, h[0][0])
		if h[0] = h[0][1:]; len(h[0]) == 0 {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	if len(h) == 1 {
		out = append(out, h[0]...)
	}
	return out
}
