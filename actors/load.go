package actors

import (
	"sync/atomic"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// rowFeed adds a show's state rows to a Restorer on a goroutine of its own,
// so that reading them from the store (on the caller's goroutine) and
// building the show overlap: on 2 CPUs the load of a 1,000,000-hold show
// takes about the longer of the two instead of their sum.
//
// Decoding a row (seatmap.RowBatch: the protobuf, the hold id's token) goes
// to whichever side is behind: a feed that may decode (newRowFeed: a local
// store's scan) decodes a batch on the caller's goroutine when the builder
// has batches waiting, and leaves it to the builder when it has none. At a
// million holds the scan was ~0.35 s of CPU and the build ~0.65 s, a third
// of it decoding (bench/README.md, "Recovery from Pebble, a margin").
//
// Callers' duties: call add with each row (it copies them: the store may
// reuse key and value), then close once, which waits for the Restorer and
// returns the first error of its Add.
type rowFeed struct {
	rs      *seatmap.Restorer
	decode  bool // add may decode rows (else the builder decodes every batch)
	always  bool // add decodes every batch (tests: the caller's side alone)
	cur     *feedBatch
	full    chan *feedBatch // to the builder
	free    chan *feedBatch // back from it, for reuse
	done    chan error
	failed  atomic.Pointer[error] // the builder's error: add stops the scan with it
	refused error                 // a row add could not decode (the caller's goroutine)
	scratch seatmap.RowBatch      // the builder's, for rows it decodes
}

// feedBatch is rows copied into one buffer, or (decoded) rows decoded.
type feedBatch struct {
	keys    []string
	ends    []int // end of each row's value in buf
	buf     []byte
	decoded bool // the rows are in rows, not in keys and buf
	rows    seatmap.RowBatch
}

// feedBatchRows is how many rows go to the builder at a time.
const feedBatchRows = 1024

// newRowFeed returns a feed whose caller decodes rows while the builder is
// behind (a local store's scan, whose caller has nothing else to do).
func newRowFeed(rs *seatmap.Restorer) *rowFeed {
	f := newRowFeedQueue(rs, 4)
	f.decode = true
	return f
}

// newRowFeed with room for queued batches before add blocks, whose builder
// decodes every row: a reader that must not be held up (a Redis read under a
// deadline) gives it room for the whole show.
func newRowFeedQueue(rs *seatmap.Restorer, queued int) *rowFeed {
	f := &rowFeed{rs: rs, full: make(chan *feedBatch, queued), free: make(chan *feedBatch, 6), done: make(chan error, 1)}
	f.cur = f.batch()
	go f.build()
	return f
}

// batch returns an empty batch; it is to be decoded by add when the builder
// has batches waiting.
func (f *rowFeed) batch() *feedBatch {
	var b *feedBatch
	select {
	case b = <-f.free:
		b.keys, b.ends, b.buf = b.keys[:0], b.ends[:0], b.buf[:0]
		b.rows.Reset()
	default:
		b = &feedBatch{keys: make([]string, 0, feedBatchRows), ends: make([]int, 0, feedBatchRows)}
	}
	b.decoded = f.decode && (f.always || len(f.full) > 0)
	return b
}

// add takes one row; after the builder failed it returns its error.
func (f *rowFeed) add(key string, value []byte) error {
	if err := f.failed.Load(); err != nil {
		return *err
	}
	b := f.cur
	n := 0
	if b.decoded {
		if err := b.rows.Add(key, value); err != nil {
			f.refused = err
			return err
		}
		n = b.rows.Len()
	} else {
		b.keys = append(b.keys, key)
		b.buf = append(b.buf, value...)
		b.ends = append(b.ends, len(b.buf))
		n = len(b.keys)
	}
	if n == feedBatchRows {
		f.full <- b
		f.cur = f.batch()
	}
	return nil
}

// build adds every batch to the Restorer, until the feed closes.
func (f *rowFeed) build() {
	var err error
	for b := range f.full {
		if err == nil {
			if err = f.addBatch(b); err != nil {
				f.failed.Store(&err)
			}
		}
		select {
		case f.free <- b:
		default:
		}
	}
	f.done <- err
}

// addBatch adds a batch's rows, decoding them first unless add did.
func (f *rowFeed) addBatch(b *feedBatch) error {
	if b.decoded {
		return f.rs.AddBatch(&b.rows)
	}
	rows := &f.scratch
	rows.Reset()
	start := 0
	for i, k := range b.keys {
		if err := rows.Add(k, b.buf[start:b.ends[i]]); err != nil {
			return err
		}
		start = b.ends[i]
	}
	return f.rs.AddBatch(rows)
}

// close hands over the last rows and waits for the builder; its error is
// the builder's, or the decoding's.
func (f *rowFeed) close() error {
	if len(f.cur.keys) > 0 || f.cur.rows.Len() > 0 {
		f.full <- f.cur
	}
	f.cur = nil
	close(f.full)
	if err := <-f.done; err != nil {
		return err
	}
	return f.refused
}
