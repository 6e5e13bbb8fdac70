package actors

import (
	"cmp"
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
	var runs [][]facts.Row
	for c := range s.in {
		runs = append(runs, sortRun(c))
	}
	s.out <- runs
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

// keyWord is the 8 bytes of k from off (zeros past its end), big-endian:
// words compare as the bytes do.
func keyWord(k string, off int) uint64 {
	var w uint64
	for i := 0; i < 8; i++ {
		w <<= 8
		if off+i < len(k) {
			w |= uint64(k[off+i])
		}
	}
	return w
}

// wordAt is a row's key word at some offset, and its place in the chunk.
type wordAt struct {
	w uint64
	i int32
}

// sortRun sorts rows by key, 8 bytes at a time (a most-significant-digit
// sort: rows whose first words tie are sorted by their next words, and so
// on), which reads each key a few times instead of at every comparison.
func sortRun(rows []facts.Row) []facts.Row {
	idx := make([]wordAt, len(rows))
	for i := range rows {
		idx[i] = wordAt{keyWord(rows[i].Key, 0), int32(i)}
	}
	sortWords(rows, idx, 0)
	run := make([]facts.Row, len(rows))
	for j, x := range idx {
		run[j] = rows[x.i]
	}
	return run
}

// sortWords sorts idx (words of the keys at off) by key.
func sortWords(rows []facts.Row, idx []wordAt, off int) {
	slices.SortFunc(idx, func(a, b wordAt) int { return cmp.Compare(a.w, b.w) })
	for start := 0; start < len(idx); {
		end := start + 1
		for end < len(idx) && idx[end].w == idx[start].w {
			end++
		}
		if tie := idx[start:end]; len(tie) > 1 {
			longer := false
			for _, x := range tie {
				longer = longer || len(rows[x.i].Key) > off+8
			}
			if longer { // the keys go on: their next words decide
				for j := range tie {
					tie[j].w = keyWord(rows[tie[j].i].Key, off+8)
				}
				sortWords(rows, tie, off+8)
			} else { // equal words and no more bytes: the shorter key (a prefix) first
				slices.SortFunc(tie, func(a, b wordAt) int { return cmp.Compare(len(rows[a.i].Key), len(rows[b.i].Key)) })
			}
		}
		start = end
	}
}

// mergeRuns merges runs sorted by key into one, in one pass: the runs'
// heads in a binary heap (a pairwise merge moves every row log2(runs)
// times: ~160 MB of copies for a 1,000,000-row show in 16 runs). The
// heads of a merge are close in key order: their keys share a long prefix
// (a show's holds: kind, show id, "~"). The prefix most keys share is found
// first; a key that has it is compared by its 8 bytes after it, held beside
// the row, and by its bytes elsewhere in memory only on a tie.
func mergeRuns(runs [][]facts.Row) []facts.Row {
	var h []mergeRun // non-empty runs, smallest head first
	n := 0
	for _, r := range runs {
		n += len(r)
		if len(r) > 0 {
			h = append(h, mergeRun{rows: r})
		}
	}
	switch len(h) {
	case 0:
		return nil
	case 1:
		return h[0].rows
	}
	prefix := h[0].rows[len(h[0].rows)/2].Key // the middles' common prefix
	for _, r := range h[1:] {
		prefix = commonPrefix(prefix, r.rows[len(r.rows)/2].Key)
	}
	for i := range h {
		h[i].words = make([]mergeWord, len(h[i].rows))
		for j, row := range h[i].rows {
			if strings.HasPrefix(row.Key, prefix) {
				h[i].words[j] = mergeWord{w: keyWord(row.Key, len(prefix)), prefixed: true}
			}
		}
	}
	less := func(i, j int) bool {
		a, b := h[i].words[0], h[j].words[0]
		if a.prefixed && b.prefixed && a.w != b.w {
			return a.w < b.w
		}
		return h[i].rows[0].Key < h[j].rows[0].Key
	}
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
		out = append(out, h[0].rows[0])
		if h[0].rows, h[0].words = h[0].rows[1:], h[0].words[1:]; len(h[0].rows) == 0 {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return append(out, h[0].rows...)
}

// mergeRun is a run being merged, with a mergeWord per row.
type mergeRun struct {
	rows  []facts.Row
	words []mergeWord
}

// mergeWord: whether a row's key has the merge's common prefix, and its 8
// bytes after it.
type mergeWord struct {
	w        uint64
	prefixed bool
}

func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n]
}
