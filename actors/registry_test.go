package actors

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// countingShows is a RemoteShows in memory that counts its round trips.
type countingShows struct {
	mu    sync.Mutex // protects following fields
	cfgs  map[string][]byte
	calls int
}

func (c *countingShows) RegisterShow(_ context.Context, show string, cfg []byte) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if _, ok := c.cfgs[show]; ok {
		return false, nil
	}
	c.cfgs[show] = cfg
	return true, nil
}

func (c *countingShows) ShowConfig(_ context.Context, show string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	v, ok := c.cfgs[show]
	return v, ok, nil
}

func (c *countingShows) ShowIDs(context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	var ids []string
	for id := range c.cfgs {
		ids = append(ids, id)
	}
	return ids, nil
}

// A flood of unknown show ids costs at most one Redis read per MinRefresh;
// a show registered by another node is found on the next miss.
func TestRemoteRegistryBoundsMisses(t *testing.T) {
	ctx := context.Background()
	remote := &countingShows{cfgs: map[string][]byte{}}
	r := &RemoteRegistry{Remote: remote, MinRefresh: time.Hour}
	start := time.Now()
	for i := 0; i < 10_000; i++ {
		if _, ok, err := r.Lookup(ctx, fmt.Sprint("nope-", i)); ok || err != nil {
			t.Fatalf("unknown show found: %v", err)
		}
	}
	if remote.calls != 1 {
		t.Fatalf("10,000 unknown ids cost %d Redis reads in %v, want 1", remote.calls, time.Since(start))
	}
	other := &RemoteRegistry{Remote: remote}
	if _, err := other.Register(ctx, "gala", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	r.MinRefresh = time.Millisecond
	time.Sleep(2 * time.Millisecond)
	if cfg, ok, err := r.Lookup(ctx, "gala"); !ok || err != nil || string(cfg) != `{}` {
		t.Fatalf("a show registered elsewhere: %q %v %v", cfg, ok, err)
	}
	before := remote.calls
	for i := 0; i < 100; i++ {
		if _, ok, _ := r.Lookup(ctx, "gala"); !ok {
			t.Fatal("a known show was forgotten")
		}
	}
	if remote.calls != before {
		t.Fatalf("known show lookups cost %d Redis reads", remote.calls-before)
	}
}

// List names every registered show, sorted, in each registry.
func TestRegistryList(t *testing.T) {
	ctx := context.Background()
	store, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	regs := map[string]Registry{
		"kv":     KVRegistry{Store: store},
		"remote": &RemoteRegistry{Remote: &countingShows{cfgs: map[string][]byte{}}},
		"memory": &memRegistry{},
	}
	for name, r := range regs {
		if ids, err := r.List(ctx); err != nil || len(ids) != 0 {
			t.Fatalf("%s: empty registry lists %q %v", name, ids, err)
		}
		for _, id := range []string{"b", "a", "c.1"} {
			if _, err := r.Register(ctx, id, []byte(`{"id":"`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		ids, err := r.List(ctx)
		if err != nil || fmt.Sprint(ids) != "[a b c.1]" {
			t.Fatalf("%s: List = %q %v", name, ids, err)
		}
	}
}
