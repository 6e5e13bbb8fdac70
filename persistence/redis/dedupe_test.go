package redis

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestRowSet: repeats of a key with the same value (HSCAN during a resize
// or a rehash) leave one row, in the place of the first, and are handed on
// once; a repeat with another value is a write during the scan.
func TestRowSet(t *testing.T) {
	r := func(k, v string) Row { return Row{Key: k, Value: []byte(v)} }
	for _, tc := range []struct {
		in, want []Row
		changed  bool
	}{
		{nil, nil, false},
		{[]Row{r("a", "1")}, []Row{r("a", "1")}, false},
		{[]Row{r("a", "1"), r("b", "2"), r("a", "1")}, []Row{r("a", "1"), r("b", "2")}, false},
		{[]Row{r("a", "1"), r("a", "1"), r("a", "1")}, []Row{r("a", "1")}, false},
		{[]Row{r("a", "1"), r("b", "2"), r("a", "3")}, nil, true},
	} {
		var set rowSet
		var handed []Row
		var err error
		for _, row := range tc.in {
			if err = set.add(row.Key, row.Value, func(k string, v []byte) error {
				handed = append(handed, Row{Key: k, Value: v})
				return nil
			}); err != nil {
				break
			}
		}
		if tc.changed {
			if !errors.Is(err, ErrChangedWhileRead) {
				t.Errorf("rows %v: err %v, want ErrChangedWhileRead", tc.in, err)
			}
			continue
		}
		if err != nil || len(set.rows)+len(tc.want) > 0 && (!reflect.DeepEqual(set.rows, tc.want) || !reflect.DeepEqual(handed, tc.want)) {
			t.Errorf("rows %v: kept %v, handed on %v, err %v; want %v", tc.in, set.rows, handed, err, tc.want)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, reserve := range []int{0, 30_000} { // as HSCAN comes; room made from HLEN
		rowSetRandom(t, rng, seed, reserve)
	}
}

func rowSetRandom(t *testing.T, rng *rand.Rand, seed uint64, reserve int) {
	var set rowSet
	set.reserve(reserve)
	order := []string{}
	seen := map[string]bool{}
	handed := 0
	for range 50_000 {
		k := fmt.Sprint("k", rng.IntN(20_000))
		if !seen[k] {
			order = append(order, k)
			seen[k] = true
		}
		if err := set.add(k, []byte("v"+k), func(string, []byte) error { handed++; return nil }); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	if len(set.rows) != len(order) || handed != len(order) {
		t.Fatalf("seed %d: %d rows kept, %d handed on, want %d", seed, len(set.rows), handed, len(order))
	}
	for i, row := range set.rows {
		if row.Key != order[i] || string(row.Value) != "v"+row.Key {
			t.Fatalf("seed %d: row %d = %s=%s, want %s", seed, i, row.Key, row.Value, order[i])
		}
	}
}
