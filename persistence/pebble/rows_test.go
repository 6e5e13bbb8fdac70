package pebble

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// loadRows reads a shard's state: its rows as a map, its rows seq and the
// seqs of its entries.
func loadRows(t testing.TB, s *Store, shard string) (map[string]string, State) {
	t.Helper()
	rows := map[string]string{}
	st, err := s.LoadState(shard, func(k string, v []byte) error {
		rows[k] = string(v)
		return nil
	})
	if err != nil {
		t.Fatalf("load %s: %v", shard, err)
	}
	return rows, st
}

func checkRows(t testing.TB, s *Store, shard string, want map[string]string, rowsSeq, last uint64) {
	t.Helper()
	got, st := loadRows(t, s, shard)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows of %s: %v, want %v", shard, got, want)
	}
	if st.RowsSeq != rowsSeq || len(st.Entries) != int(last-rowsSeq) {
		t.Fatalf("%s: rows at %d with %d entries, want rows at %d and entries to %d", shard, st.RowsSeq, len(st.Entries), rowsSeq, last)
	}
	for i, e := range st.Entries {
		if e.Seq != rowsSeq+1+uint64(i) {
			t.Fatalf("%s: entry %d has seq %d", shard, i, e.Seq)
		}
	}
}

// TestStateRows: rows written with a Commit hold the state at RowsSeq; the
// entries up to it go in the same batch; LoadState gives rows + the rest.
func TestStateRows(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 3)})
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 4, 5), Rows: []KV{{"h1", []byte("x")}, {"h2", []byte("y")}}, RowsSeq: 3})
	checkRows(t, s, "a", map[string]string{"h1": "x", "h2": "y"}, 3, 5)
	// a rows-only batch (no entries) moves the rows and deletes a row
	mustCommit(t, s, Batch{Shard: "a", Rows: []KV{{"h1", nil}, {"h3", []byte("z")}}, RowsSeq: 5})
	checkRows(t, s, "a", map[string]string{"h2": "y", "h3": "z"}, 5, 5)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 6, 6)})
	for _, bad := range []Batch{
		{Shard: "a", Rows: []KV{{"h9", []byte("q")}}, RowsSeq: 4},                              // older than the stored rows
		{Shard: "a", Rows: []KV{{"h9", []byte("q")}}, RowsSeq: 7},                              // past the journal
		{Shard: "a", Entries: entries("a", 7, 7), Rows: []KV{{"h9", []byte("q")}}, RowsSeq: 8}, // past this batch too
	} {
		if _, err := s.Commit(bad); !errors.Is(err, ErrSeqGap) {
			t.Fatalf("rows at %d: %v, want ErrSeqGap", bad.RowsSeq, err)
		}
	}
	checkRows(t, s, "a", map[string]string{"h2": "y", "h3": "z"}, 5, 6)
	// the journal continues after the rows, across a restart
	s = reopen(t, s, fs)
	if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 6, 6)}); !errors.Is(err, ErrSeqGap) {
		t.Fatalf("rewrite of 6 after reopen: %v", err)
	}
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 7, 7), Rows: []KV{{"h4", []byte("w")}}, RowsSeq: 7})
	checkRows(t, s, "a", map[string]string{"h2": "y", "h3": "z", "h4": "w"}, 7, 7)
	if err := s.DropShardAfter("a", 6); !errors.Is(err, ErrBelowSnapshot) {
		t.Fatalf("drop below the rows: %v", err)
	}
	if shards, err := s.Shards(); err != nil || fmt.Sprint(shards) != "[a]" {
		t.Fatalf("shards %v %v", shards, err)
	}
	// a whole state replaces every row, the snapshot and the journal under it
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 8, 9)})
	if err := s.ReplaceState("a", 20, []KV{{"h5", []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", map[string]string{"h5": "v"}, 20, 20)
	if err := s.ReplaceState("a", 19, nil); !errors.Is(err, ErrStaleSnapshot) {
		t.Fatalf("an older state: %v", err)
	}
	if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 10, 10)}); !errors.Is(err, ErrSeqGap) {
		t.Fatalf("commit under a replaced state: %v", err)
	}
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 21, 21)})
	if err := s.DeleteShard("a"); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", map[string]string{}, 0, 0)
	if shards, _ := s.Shards(); len(shards) != 0 {
		t.Fatalf("shards after delete: %v", shards)
	}
}

// TestStateRowsSurviveFailedCommit: rows ride on a Commit one batch late
// (they describe durable entries), so whether a failed Commit's bytes come
// back after Reopen or not, the shard loads consistent: the rows and the
// entries after them add up to the same entries every time.
func TestStateRowsSurviveFailedCommit(t *testing.T) {
	for _, keep := range []int{0, 100} {
		t.Run(fmt.Sprintf("unsynced-kept-%d%%", keep), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			faults := &walFaults{}
			s := openOn(t, faults.wrap(mem), nil)
			defer func() { _ = s.Close() }()
			mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 2)})
			faults.arm(0)
			// entries 3-4 with the rows of 1-2: the sync fails
			if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 3, 4), Rows: []KV{{"r1", []byte("1-2")}}, RowsSeq: 2}); !errors.Is(err, ErrFailed) {
				t.Fatalf("commit: %v", err)
			}
			faults.heal()
			if keep == 0 {
				if err := s.Reopen(); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = s.Close()
				s = openOn(t, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rand.New(rand.NewPCG(1, 1))}), nil)
				// a restart keeps what reached the WAL; the writer's 503 let the
				// client retry: entries 3-4 may be there, and the rows with them
			}
			rows, st := loadRows(t, s, "a")
			switch st.RowsSeq {
			case 0:
				if len(rows) != 0 || len(st.Entries) < 2 || st.Entries[0].Seq != 1 {
					t.Fatalf("rows %v at 0 with entries %v", rows, st.Entries)
				}
			case 2:
				if rows["r1"] != "1-2" || (len(st.Entries) > 0 && st.Entries[0].Seq != 3) {
					t.Fatalf("rows %v at 2 with entries %v", rows, st.Entries)
				}
			default:
				t.Fatalf("rows at %d", st.RowsSeq)
			}
		})
	}
}
