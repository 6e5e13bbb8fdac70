package actors

import (
	"runtime/pprof"
	"sync/atomic"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// Records are encoded beside the serial path (issue 12): when the actor
// hands a batch of records to the writer, a goroutine of its own encodes
// them (facts.EncodeRecord) while the writer finishes what it does; the
// journal and Redis both take the encodings (each encoded its own copy
// before). The work is split in chunks that the encoder and the writer
// claim in turn: a writer that needs the encodings before the encoder ran
// (a busy machine had no CPU for it yet) encodes what is left itself
// instead of waiting for it, so encoding beside never adds a wait for a
// goroutine's scheduling to a batch (it did at 64 callers: fewer holds/s).
// The records are not changed once handed over (the actor never calls
// Shard.Advance), so both read them without a lock. The values of the
// batch's hold rows are one more chunk (Shard.ReadyDeferred captures what
// they are made of; encoding them took 0.1-0.2 µs of the actor's ~2.8 µs a
// command at 64 callers): the writer waits for a batch's encodings before
// it reads its rows.

// encodeMinRecords is the least records a batch encodes beside the serial
// path: below it, starting a goroutine costs the actor about what encoding
// costs the writer.
const encodeMinRecords = 4

// encodeChunk is the records a claim encodes.
const encodeChunk = 8

// encodedRecords is a batch's records being encoded.
type encodedRecords struct {
	recs []seatmap.Record
	data [][]byte
	// rows is the batch's Ready when its hold rows' values wait for
	// EncodeRows (Shard.ReadyDeferred): one more chunk, after the records'
	rows      seatmap.Ready
	hasRows   bool
	recChunks int
	next      atomic.Int64  // the next chunk to claim
	left      atomic.Int64  // chunks not encoded yet
	done      chan struct{} // closed when the last chunk is encoded
}

// newEncodedRecords prepares the encoding of rd's records and of the values
// its hold rows wait for (rd's rows share their array with this copy: the
// batch's rows are complete once wait returned).
func newEncodedRecords(rd *seatmap.Ready) *encodedRecords {
	recs := rd.Records
	e := &encodedRecords{recs: recs, data: make([][]byte, len(recs)), done: make(chan struct{}),
		recChunks: (len(recs) + encodeChunk - 1) / encodeChunk}
	chunks := e.recChunks
	if rd.RowsPending() {
		e.rows, e.hasRows = *rd, true
		chunks++
	}
	if chunks == 0 {
		close(e.done)
	}
	e.left.Store(int64(chunks))
	return e
}

// encodeRecords starts encoding recs on a goroutine of its own (label
// SerialEncode: off the serial path).
func encodeRecords(recs []seatmap.Record) *encodedRecords {
	e := newEncodedRecords(&seatmap.Ready{Records: recs})
	e.start()
	return e
}

// start starts the encoder goroutine. The actor starts it after it handed
// the batch to the writer: the goroutine started last runs next on this
// CPU, ahead of the writer the hand-off woke.
func (e *encodedRecords) start() {
	go func() {
		pprof.SetGoroutineLabels(encodeLabels)
		e.work()
	}()
}

// work encodes chunks until none is left to claim: the records' chunks,
// then the rows'.
func (e *encodedRecords) work() {
	for {
		c := int(e.next.Add(1) - 1)
		switch {
		case c < e.recChunks:
			from := c * encodeChunk
			for i := from; i < min(from+encodeChunk, len(e.recs)); i++ {
				e.data[i] = facts.EncodeRecord(&e.recs[i])
			}
		case c == e.recChunks && e.hasRows:
			e.rows.EncodeRows()
		default:
			return
		}
		if e.left.Add(-1) == 0 {
			close(e.done)
		}
	}
}

// wait returns the encodings, encoding the chunks no one claimed yet.
func (e *encodedRecords) wait() [][]byte {
	e.work()
	<-e.done
	return e.data
}

// encodedRun returns the encodings of a run's records (n of them, in order)
// when every batch of it with records was encoded beside, else nil (the
// journal encodes them).
func encodedRun(run []batch, n int) [][]byte {
	if n == 0 {
		return nil
	}
	if len(run) == 1 {
		if run[0].enc == nil {
			return nil
		}
		return run[0].enc.wait()
	}
	for _, b := range run {
		if len(b.rd.Records) > 0 && b.enc == nil {
			return nil
		}
	}
	out := make([][]byte, 0, n)
	for _, b := range run {
		if b.enc != nil {
			out = append(out, b.enc.wait()...)
		}
	}
	return out
}

// encodedRecord is record i of recs encoded: from enc when given, else
// encoded now.
func encodedRecord(recs []seatmap.Record, enc [][]byte, i int) []byte {
	if len(enc) == len(recs) {
		return enc[i]
	}
	return facts.EncodeRecord(&recs[i])
}
