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
	chunks := <-s.out
	for len(chunks) > 1 { // pairwise: log2(chunks) passes
		next := make([][]facts.Row, 0, (len(chunks)+1)/2)
		for i := 0; i < len(chunks); i += 2 {
			if i+1 == len(chunks) {
				next = append(next, chunks[i])
				continue
			}
			next = append(next, mergeRows(chunks[i], chunks[i+1]))
		}
		chunks = next
	}
	if len(chunks) == 0 {
		return nil
	}
	return chunks[0]
}

func cmpRowKeys(a, b facts.Row) int { return strings.Compare(a.Key, b.Key) }

// mergeRows merges two runs sorted by key.
func mergeRows(a, b []facts.Row) []facts.Row {
	out := make([]facts.Row, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].Key < a[0].Key {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}
