package actors

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
)

// TestLegacyFixture recovers testdata/legacy, a journal and snapshot written
// by the code before records became facts (JSON commands, a JSON snapshot;
// see TestGenerateLegacyFixture), three ways: from its Pebble directory
// (snapshot + records after it), from every record replayed from scratch,
// and from a Redis state holding the same snapshot and records. Each must
// answer exactly what the old code answered (expected.json).
func TestLegacyFixture(t *testing.T) {
	dir := filepath.Join("testdata", "legacy")
	var want fixtureState
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	var entries []fixtureEntry
	readJSON(t, filepath.Join(dir, "records.json"), &entries)
	snap, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, sh *seatmap.Shard) {
		t.Helper()
		got := fixtureStateOf(t, sh, want.SnapshotSeq)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Fatalf("recovered state differs\n got %s\nwant %s", g, w)
		}
	}
	t.Run("pebble", func(t *testing.T) {
		tmp := t.TempDir()
		copyDir(t, filepath.Join(dir, "pebble"), tmp) // Pebble writes to the directory it opens
		st, err := pebble.Open(pebble.Options{Dir: tmp})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		j := NewPebbleJournal(st)
		if shows, err := j.Shards(); err != nil || len(shows) != 1 || shows[0] != "legacy" {
			t.Fatalf("shows %v, %v", shows, err)
		}
		sh, err := loadShard(j, "legacy")
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
		for _, id := range want.Archived {
			if _, ok, err := j.Archived(id); err != nil || !ok {
				t.Fatalf("archived order %s: %v %v", id, ok, err)
			}
		}
	})
	t.Run("records", func(t *testing.T) {
		recs := make([]redis.Entry, len(entries))
		for i, e := range entries {
			recs[i] = redis.Entry{Seq: e.Seq, Data: []byte(e.Data)}
		}
		sh, err := shardFromRemote(redis.State{Seq: recs[len(recs)-1].Seq, Entries: recs})
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
	})
	t.Run("redis", func(t *testing.T) {
		st := redis.State{Seq: entries[len(entries)-1].Seq, Snapshot: snap, SnapshotSeq: want.SnapshotSeq}
		for _, e := range entries {
			if e.Seq > want.SnapshotSeq {
				st.Entries = append(st.Entries, redis.Entry{Seq: e.Seq, Data: []byte(e.Data)})
			}
		}
		sh, err := shardFromRemote(st)
		if err != nil {
			t.Fatal(err)
		}
		check(t, sh)
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// copyDir copies the regular files of src into dst (no subdirectories).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, d.Name()), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
