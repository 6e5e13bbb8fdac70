package pebble

import (
	"errors"
	"testing"
)

// TestJournalGroups: a Commit's entries of one shard are one key (a group)
// and read back as entries; deletions up to a seq keep a group that
// straddles it whole and readers skip its older entries; DropShardAfter
// cuts a straddling group, keeping its entries up to the seq; plain keys
// (one entry, or a journal written before groups) and groups mix.
func TestJournalGroups(t *testing.T) {
	s, fs := openMem(t)
	const sh = "show/g/0"
	jp := appendShardPrefix(nil, prefixJournal, sh)
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 1, 10)})
	if n := countKeys(t, s, jp); n != 1 {
		t.Fatalf("%d journal keys for a Commit of 10 entries, want 1", n)
	}
	checkLoad(t, s, sh, 0, 10)
	s = reopen(t, s, fs)
	checkLoad(t, s, sh, 0, 10)
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 11, 11)}) // a plain key
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 12, 14)})

	// a snapshot at 5 keeps the group 1..10 whole; readers skip 1..5
	if err := s.SaveSnapshot(sh, 5, snapData(sh, 5)); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 5, 14)
	if n := countKeys(t, s, jp); n != 3 {
		t.Fatalf("%d journal keys after a snapshot inside the first group, want 3", n)
	}
	// one at 11 deletes the group and the plain key
	if err := s.SaveSnapshot(sh, 11, snapData(sh, 11)); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 11, 14)
	if n := countKeys(t, s, jp); n != 1 {
		t.Fatalf("%d journal keys after a snapshot at a group's end, want 1", n)
	}

	// DropShardAfter inside a group keeps its entries up to the seq
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 15, 18), Outbox: ev("e18")})
	if err := s.DropShardAfter(sh, 16); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		checkLoad(t, s, sh, 11, 16)
		if got := outboxData(t, s); len(got) != 0 {
			t.Fatalf("round %d: outbox %q after its entry was dropped", round, got)
		}
		if _, err := s.Commit(Batch{Shard: sh, Entries: entries(sh, 18, 18)}); !errors.Is(err, ErrSeqGap) {
			t.Fatalf("round %d: commit at 18 after a drop at 16: %v", round, err)
		}
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
	// at the second entry of a group: a plain key is left
	if err := s.DropShardAfter(sh, 12); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 11, 12)
	if n := countKeys(t, s, jp); n != 1 {
		t.Fatalf("%d journal keys after a drop at 12, want 1", n)
	}
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 13, 20)})
	s = reopen(t, s, fs)
	checkLoad(t, s, sh, 11, 20)
	// at a group's end, and past the journal's end: nothing to cut
	if err := s.DropShardAfter(sh, 20); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 11, 20)
}

// TestJournalGroupsTrimmedByRows: a Commit's state rows at seq delete the
// journal up to seq; a group straddling it stays, and LoadState returns only
// its entries after seq.
func TestJournalGroupsTrimmedByRows(t *testing.T) {
	s, fs := openMem(t)
	const sh = "show/g/1"
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 1, 6)})
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 7, 8), Rows: []KV{{Key: "k", Value: []byte("v")}}, RowsSeq: 4})
	for round := range 2 {
		st, err := s.LoadState(sh, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.RowsSeq != 4 || len(st.Entries) != 4 || st.Entries[0].Seq != 5 || st.Entries[3].Seq != 8 {
			t.Fatalf("round %d: rows seq %d, entries %v", round, st.RowsSeq, seqsOf(st.Entries))
		}
		for _, e := range st.Entries {
			if string(e.Data) != string(entryData(sh, e.Seq)) {
				t.Fatalf("round %d: entry %d: %q", round, e.Seq, e.Data)
			}
		}
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
}

// TestJournalGroupCorrupt: a group whose value does not hold its entries
// fails the load with ErrCorrupt, never a shorter journal.
func TestJournalGroupCorrupt(t *testing.T) {
	for _, c := range []struct {
		name  string
		value []byte
	}{
		{"cut short", appendGroupValue(nil, entries("show/c/0", 1, 3))[:200]},
		{"too few", appendGroupValue(nil, entries("show/c/0", 1, 2))},
		{"trailing bytes", append(appendGroupValue(nil, entries("show/c/0", 1, 3)), 0)},
		{"bad length", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openMem(t)
			if err := s.db.Set(appendGroupKey(nil, "show/c/0", 1, 3), c.value, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LoadState("show/c/0", nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("load: %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzJournalGroup: decoding a group value never panics, and a value made
// by appendGroupValue decodes to its entries.
func FuzzJournalGroup(f *testing.F) {
	f.Add(appendGroupValue(nil, entries("s", 1, 3)), uint64(1), uint64(3), uint64(0))
	f.Add([]byte{0x80}, uint64(4), uint64(5), uint64(4))
	f.Fuzz(func(t *testing.T, val []byte, first, last, after uint64) {
		if first == 0 || first >= last || last-first > 1<<12 { // seqs start at 1
			return
		}
		es, err := appendGroupEntries(nil, first, last, val, after)
		if err == nil {
			if re := appendGroupValue(nil, mustAll(t, first, last, val)); string(re) != string(val) {
				t.Fatalf("re-encoded %x, was %x", re, val)
			}
			for _, e := range es {
				if e.Seq <= after || e.Seq < first || e.Seq > last {
					t.Fatalf("entry %d outside %d..%d after %d", e.Seq, first, last, after)
				}
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
	})
}

func mustAll(t *testing.T, first, last uint64, val []byte) []Entry {
	es, err := appendGroupEntries(nil, first, last, val, 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func seqsOf(es []Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// TestJournalBeforeGroups: a journal written before groups (a plain key per
// entry, whatever the Commit) loads as it was and goes on with groups.
func TestJournalBeforeGroups(t *testing.T) {
	s, fs := openMem(t)
	const sh = "show/legacy/0"
	for _, e := range entries(sh, 1, 3) {
		if err := s.db.Set(appendJournalKey(nil, sh, e.Seq), e.Data, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkLoad(t, s, sh, 0, 3)
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 4, 6)})
	s = reopen(t, s, fs)
	checkLoad(t, s, sh, 0, 6)
	if err := s.DropShardAfter(sh, 2); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 0, 2)
}
