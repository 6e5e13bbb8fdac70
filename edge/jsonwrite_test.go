package edge

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendTimeMs(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	cases := []int64{0, -1, 1, 999, 1000, 253402300799999, 253402300800000, -62135596800000, -62135596800001}
	for range 10000 {
		cases = append(cases, rng.Int64N(4e14)-2e14)
	}
	for _, ms := range cases {
		want := time.UnixMilli(ms).UTC().Format(rfc3339Ms)
		if got := string(appendTimeMs(nil, ms)); got != want {
			t.Fatalf("%d: %s, want %s", ms, got, want)
		}
	}
}

func FuzzWriterString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s", "\x00\x1f\n\t\r", "\u2028\u2029", "é😀", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := &writer{}
		w.str(s)
		var got string
		if err := json.Unmarshal(w.b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, w.b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
		}
		if got != want {
			t.Fatalf("%q round-trips to %q", s, got)
		}
	})
}
