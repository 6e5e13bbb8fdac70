package redis

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestDedupeRows: repeats of a key (HSCAN during a resize) leave one row,
// the last read, in the place of the first; the order of the rest stays.
func TestDedupeRows(t *testing.T) {
	r := func(k, v string) Row { return Row{Key: k, Value: []byte(v)} }
	for _, tc := range []struct {
		in, want []Row
	}{
		{nil, nil},
		{[]Row{r("a", "1")}, []Row{r("a", "1")}},
		{[]Row{r("a", "1"), r("b", "2"), r("a", "3")}, []Row{r("a", "3"), r("b", "2")}},
		{[]Row{r("a", "1"), r("a", "2"), r("a", "3")}, []Row{r("a", "3")}},
	} {
		if got := dedupeRows(append([]Row(nil), tc.in...)); !reflect.DeepEqual(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("dedupeRows(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var in []Row
	last, order := map[string]string{}, []string{}
	for i := range 50_000 {
		k := fmt.Sprint("k", rng.IntN(20_000))
		v := fmt.Sprint(i)
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = v
		in = append(in, r(k, v))
	}
	got := dedupeRows(in)
	if len(got) != len(order) {
		t.Fatalf("seed %d: %d rows, want %d", seed, len(got), len(order))
	}
	for i, row := range got {
		if row.Key != order[i] || string(row.Value) != last[row.Key] {
			t.Fatalf("seed %d: row %d = %s=%s, want %s=%s", seed, i, row.Key, row.Value, order[i], last[order[i]])
		}
	}
}
