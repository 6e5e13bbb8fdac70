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
// Callers' duties: call add with each row (it copies them: the store may
// reuse key and value), then close once, which waits for the Restorer and
// returns the first error of its Add.
type rowFeed struct {
	rs     *seatmap.Restorer
	cur    *feedBatch
	full   chan *feedBatch // to the builder
	free   chan *feedBatch // back from it, for reuse
	done   chan error
	failed atomic.Pointer[error] // the builder's error: add stops the scan with it
}

// feedBatch is rows copied into one buffer.
type feedBatch struct {
	keys []string
	ends []int // end of each row's value in buf
	buf  []byte
}

// feedBatchRows is how many rows go to the builder at a time.
const feedBatchRows = 1024

func newRowFeed(rs *seatmap.Restorer) *rowFeed { return newRowFeedQueue(rs, 4) }

// newRowFeed with room for queued batches before add blocks: a reader that
// must not be held up by the builder (a Redis read under a deadline) gives
// it room for the whole show.
func newRowFeedQueue(rs *seatmap.Restorer, queued int) *rowFeed {
	f := &rowFeed{rs: rs, full: make(chan *feedBatch, queued), free: make(chan *feedBatch, 6), done: make(chan error, 1)}
	f.cur = f.batch()
	go f.build()
	return f
}

func (f *rowFeed) batch() *feedBatch {
	select {
	case b := <-f.free:
		b.keys, b.ends, b.buf = b.keys[:0], b.ends[:0], b.buf[:0]
		return b
	default:
		return &feedBatch{keys: make([]string, 0, feedBatchRows), ends: make([]int, 0, feedBatchRows)}
	}
}

// add takes one row; after the builder failed it returns its error.
func (f *rowFeed) add(key string, value []byte) error {
	if err := f.failed.Load(); err != nil {
		return *err
	}
	b := f.cur
	b.keys = append(b.keys, key)
	b.buf = append(b.buf, value...)
	b.ends = append(b.ends, len(b.buf))
	if len(b.keys) == feedBatchRows {
		f.full <- b
		f.cur = f.batch()
	}
	return nil
}

// build adds every batch to the Restorer, until the feed closes.
func (f *rowFeed) build() {
	var err error
	for b := range f.full {
		start := 0
		for i, k := range b.keys {
			if err == nil {
				if err = f.rs.Add(k, b.buf[start:b.ends[i]]); err != nil {
					f.failed.Store(&err)
				}
			}
			start = b.ends[i]
		}
		select {
		case f.free <- b:
		default:
		}
	}
	f.done <- err
}

// close hands over the last rows and waits for the builder.
func (f *rowFeed) close() error {
	if len(f.cur.keys) > 0 {
		f.full <- f.cur
	}
	f.cur = nil
	close(f.full)
	return <-f.done
}
