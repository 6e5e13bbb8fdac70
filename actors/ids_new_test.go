package actors

import (
	crand "crypto/rand"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNewID: "<show>~<26 base32 chars>", the show parses back, ids differ,
// a long show name works, and a short one costs one allocation (the string).
func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^[^~]+~[a-z2-7]{26}$`)
	for _, show := range []string{"s", "show-1", strings.Repeat("x", 101), strings.Repeat("y", 200)} {
		a, b := newID(show), newID(show)
		if !shape.MatchString(a) || a == b {
			t.Fatalf("newID(%d bytes): %q, %q", len(show), a, b)
		}
		if got, err := parseID(a); err != nil && len(a) <= 200 || err == nil && got != show {
			t.Fatalf("parseID(%q) = %q, %v", a, got, err)
		}
	}
	if raceEnabled {
		return // the race detector's instrumentation allocates
	}
	if n := testing.AllocsPerRun(100, func() { _ = newID("show-1") }); n != 1 {
		t.Fatalf("newID: %v allocations, want 1", n)
	}
}

// TestNewIDSortsByTime: ids made later sort after ids made earlier (state
// rows keyed by them append to Pebble's key space), to the millisecond, over
// the whole range of 9 base-26 digits; the rest of the token stays random.
func TestNewIDSortsByTime(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	var last string
	ms := int64(0)
	for i := 0; i < 20000; i++ {
		var b [16]byte
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		id := newIDAt("show-1", ms, b)
		token := id[len("show-1~"):]
		for _, c := range token[:timeChars] {
			if c < 'a' || c > 'z' {
				t.Fatalf("ms %d: time character %q of %q is not a-z", ms, c, id)
			}
		}
		if id <= last {
			t.Fatalf("ms %d: %q does not sort after %q", ms, id, last)
		}
		last = id
		ms += 1 + r.Int64N(1<<r.IntN(38)) // steps from 1 ms to years
		if ms >= 5429503678976 {          // 26^9: the end of the range
			break
		}
	}
	// The 83 bits after the time are crypto/rand's: across ids made in one
	// millisecond every one of them takes both values.
	var ones, zeros [16]byte
	for i := 0; i < 512; i++ {
		var b [16]byte
		if _, err := crand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		tok, err := idEncoding.DecodeString(newIDAt("s", 1795828651897, b)[2:])
		if err != nil {
			t.Fatal(err)
		}
		for j := range tok {
			ones[j] |= tok[j]
			zeros[j] |= ^tok[j]
		}
	}
	for bit := 5 * timeChars; bit < 128; bit++ {
		j, m := bit/8, byte(0x80>>(bit%8))
		if ones[j]&m == 0 || zeros[j]&m == 0 {
			t.Fatalf("bit %d of the token never varies", bit)
		}
	}
}
