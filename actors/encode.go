package actors

import (
	"runtime/pprof"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// Records are encoded beside the serial path (issue 12): when the actor
// hands a batch of records to the writer, a goroutine of its own encodes
// them (facts.EncodeRecord) while the writer finishes what it does; the
// writer waits for the encodings only when it writes the batch, and the
// journal and Redis both take them (each encoded its own copy before). The
// records are not changed once handed over (the actor never calls
// Shard.Advance), so the goroutine reads them without a lock.

// encodeMinRecords is the least records a batch encodes beside the serial
// path: below it, starting a goroutine costs the actor about what encoding
// costs the writer.
const encodeMinRecords = 4

// encodedRecords is a batch's records being encoded.
type encodedRecords struct {
	done chan struct{} // closed when data is filled
	data [][]byte
}

// encodeRecords starts encoding recs on a goroutine of its own (label
// SerialEncode: off the serial path).
func encodeRecords(recs []seatmap.Record) *encodedRecords {
	e := &encodedRecords{done: make(chan struct{}), data: make([][]byte, len(recs))}
	go func() {
		pprof.SetGoroutineLabels(encodeLabels)
		for i := range recs {
			e.data[i] = facts.EncodeRecord(&recs[i])
		}
		close(e.done)
	}()
	return e
}

// wait returns the encodings once made.
func (e *encodedRecords) wait() [][]byte {
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
