package redis

import (
	"context"
	"testing"
	"time"
)

func TestAllowTokenBucket(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	now := int64(1_700_000_000_000)
	var granted, denied float64
	allow := func(key string, at int64) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := c.Allow(ctx, key, 10, 5, at)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			granted++
		} else {
			denied++
		}
		return ok, retry
	}
	// a full bucket grants the burst at once, then refuses
	for i := 0; i < 5; i++ {
		if ok, _ := allow("user-1", now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := allow("user-1", now)
	if ok || retry < 99*time.Millisecond || retry > 101*time.Millisecond {
		t.Fatalf("6th request: ok %v retry %v, want refused with ≈100ms", ok, retry)
	}
	// other keys have their own bucket
	if ok, _ := allow("user-2", now); !ok {
		t.Fatal("another key was refused")
	}
	// 50 ms later half a token: still refused, 50 ms to wait
	if ok, retry := allow("user-1", now+50); ok || retry < 49*time.Millisecond || retry > 51*time.Millisecond {
		t.Fatalf("after 50ms: ok %v retry %v, want refused with ≈50ms", ok, retry)
	}
	// 100 ms after the burst one token is back, exactly one
	if ok, _ := allow("user-1", now+100); !ok {
		t.Fatal("after 100ms: refused, want one token")
	}
	if ok, _ := allow("user-1", now+100); ok {
		t.Fatal("after 100ms: second request granted, want refused")
	}
	// a clock behind the bucket's (another node) refills nothing
	if ok, _ := allow("user-1", now-1000); ok {
		t.Fatal("an older clock refilled the bucket")
	}
	// long after, the bucket is full again but not beyond burst
	later := now + 60_000
	n := 0
	for i := 0; i < 10; i++ {
		if ok, _ := allow("user-1", later); ok {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("after a minute: %d granted, want burst 5", n)
	}
	// the bucket expires once it would be full again
	ttl, err := c.rdb.PTTL(ctx, rateKey("user-1")).Result()
	if err != nil || ttl <= 0 || ttl > 1500*time.Millisecond {
		t.Fatalf("bucket TTL %v %v, want (0, 1.5s]", ttl, err)
	}
	for _, bad := range [][2]float64{{0, 5}, {-1, 5}, {10, 0.5}} {
		if _, _, err := c.Allow(ctx, "x", bad[0], bad[1], now); err == nil {
			t.Fatalf("Allow(rate %v burst %v) succeeded", bad[0], bad[1])
		}
	}
	if m := c.Metrics(); m["allow_granted"] != granted || m["allow_denied"] != denied || m["allow_errors"] != 0 {
		t.Fatalf("allow metrics %v, want %v granted %v denied", m, granted, denied)
	}
}
