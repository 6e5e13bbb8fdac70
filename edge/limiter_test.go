package edge

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestMemLimiterBucket(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	l := NewMemLimiter(0)
	for i := range 4 {
		if ok, _ := l.Allow(clk.t, "k", 2, 4); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow(clk.t, "k", 2, 4)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over burst: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow(clk.t, "other", 2, 4); !ok {
		t.Fatal("another key shares the bucket")
	}
	clk.advance(499 * time.Millisecond)
	if ok, _ := l.Allow(clk.t, "k", 2, 4); ok {
		t.Fatal("token before its time")
	}
	clk.advance(time.Millisecond)
	if ok, _ := l.Allow(clk.t, "k", 2, 4); !ok {
		t.Fatal("no token after 500ms at 2/s")
	}
	clk.advance(time.Hour) // refills to burst, not beyond
	for i := range 4 {
		if ok, _ := l.Allow(clk.t, "k", 2, 4); !ok {
			t.Fatalf("request %d after refill refused", i)
		}
	}
	if ok, _ := l.Allow(clk.t, "k", 2, 4); ok {
		t.Fatal("bucket refilled past its burst")
	}
	if ok, _ := l.Allow(clk.t, "k", 0, 0); !ok {
		t.Fatal("rate 0 must allow")
	}
}

// TestMemLimiterBounded checks that memory is fixed, that idle keys free
// their slots, and that a limited key stays limited while fewer keys than the
// capacity are active.
func TestMemLimiterBounded(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	clk := &fakeClock{t: time.Now()}
	const maxKeys = 1 << 12
	l := NewMemLimiter(maxKeys)
	slots := 0
	for i := range l.shards {
		slots += len(l.shards[i].slots)
	}
	if slots != maxKeys {
		t.Fatalf("%d slots for %d keys", slots, maxKeys)
	}
	// The abuser empties its bucket, then many keys come and go over time.
	for range 40 {
		l.Allow(clk.t, "abuser", 20, 40)
	}
	for i := range 200_000 {
		key := "user" + strconv.Itoa(i)
		if ok, _ := l.Allow(clk.t, key, 20, 40); !ok {
			t.Fatalf("new key %s refused", key)
		}
		clk.advance(time.Duration(rng.IntN(20)) * time.Microsecond)
		if i%1000 == 0 {
			if ok, _ := l.Allow(clk.t, "abuser", 20, 40); ok && i < 1000 {
				t.Fatalf("abuser allowed at %d", i)
			}
		}
	}
	if n := l.Len(clk.t); n > maxKeys {
		t.Fatalf("%d live buckets, capacity %d", n, maxKeys)
	}
	// With a quarter of the capacity active, the abuser is never forgotten.
	clk.advance(time.Hour)
	for range 40 {
		l.Allow(clk.t, "abuser", 1, 40)
	}
	for i := range maxKeys / 4 {
		l.Allow(clk.t, "hot"+strconv.Itoa(i), 1, 40)
		clk.advance(time.Microsecond) // the abuser is always the most recent in its window
		if ok, _ := l.Allow(clk.t, "abuser", 1, 40); ok {
			t.Fatalf("abuser allowed after %d other keys", i)
		}
	}
}

func BenchmarkMemLimiter(b *testing.B) {
	l := NewMemLimiter(0)
	now := time.Now()
	b.Run("unique", func(b *testing.B) {
		keys := make([]string, 1<<16)
		for i := range keys {
			keys[i] = "show\x00user" + strconv.Itoa(i)
		}
		b.ResetTimer()
		for i := range b.N {
			l.Allow(now, keys[i&(len(keys)-1)], 1e9, 1e9)
		}
	})
	b.Run("same", func(b *testing.B) {
		for range b.N {
			l.Allow(now, "show\x00user", 1e9, 1e9)
		}
	})
}
