package actors

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Registry knows which shows exist and their configs. Booking consults it
// before it activates a show's actor, so an unknown show id costs no
// activation, no disk write and no Redis call. Safe for concurrent use.
type Registry interface {
	// Lookup returns the show's config document, ok=false when there is no such show.
	Lookup(ctx context.Context, show string) (cfg []byte, ok bool, err error)
	// Register stores the config unless the show exists; created reports whether it did.
	Register(ctx context.Context, show string, cfg []byte) (created bool, err error)
	// List returns the id of every registered show, sorted.
	List(ctx context.Context) ([]string, error)
}

// KVStore is the part of a node's Pebble store a KVRegistry needs.
type KVStore interface {
	Get(key string) ([]byte, bool, error)
	PutIfAbsent(key string, val []byte) (stored bool, err error)
	// ScanKV calls fn with each key starting with prefix, in key order, until fn returns false.
	ScanKV(prefix string, fn func(key string, val []byte) bool) error
}

// KVRegistry keeps the registry in the node's store: the authority of a
// single node without Redis.
type KVRegistry struct{ Store KVStore }

func registryKey(show string) string { return "show/" + show }

func (r KVRegistry) Lookup(_ context.Context, show string) ([]byte, bool, error) {
	return r.Store.Get(registryKey(show))
}

func (r KVRegistry) Register(_ context.Context, show string, cfg []byte) (bool, error) {
	return r.Store.PutIfAbsent(registryKey(show), cfg)
}

func (r KVRegistry) List(_ context.Context) ([]string, error) {
	var ids []string
	err := r.Store.ScanKV(registryKey(""), func(key string, _ []byte) bool {
		ids = append(ids, strings.TrimPrefix(key, registryKey("")))
		return true
	})
	return ids, err
}

// RemoteShows is the part of the Redis client a RemoteRegistry needs.
type RemoteShows interface {
	RegisterShow(ctx context.Context, show string, cfg []byte) (created bool, err error)
	ShowConfig(ctx context.Context, show string) ([]byte, bool, error)
	ShowIDs(ctx context.Context) ([]string, error)
}

// RemoteRegistry keeps the registry in Redis, so every node knows every
// show, with a local copy: a known show costs nothing, and unknown ids cost
// at most one small Redis read (the set of show ids) per MinRefresh however
// many arrive; a show created on another node is seen here on the first miss
// after it was created, or at worst MinRefresh later.
type RemoteRegistry struct {
	Remote     RemoteShows
	MinRefresh time.Duration    // default 50 ms
	Now        func() time.Time // the clock of MinRefresh (default time.Now; the simulator's)

	mu      sync.Mutex          // protects following fields
	known   map[string]struct{} // every show id Redis had at the last read
	configs map[string][]byte   // configs read so far
	fetched time.Time           // last read of the ids
}

func (r *RemoteRegistry) Lookup(ctx context.Context, show string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.configs[show]; ok {
		return v, true, nil
	}
	if _, ok := r.known[show]; !ok {
		min := r.MinRefresh
		if min <= 0 {
			min = 50 * time.Millisecond
		}
		if r.now().Sub(r.fetched) < min {
			return nil, false, nil
		}
		ids, err := r.Remote.ShowIDs(ctx)
		if err != nil {
			return nil, false, err
		}
		r.fetched = r.now()
		r.known = make(map[string]struct{}, len(ids))
		for _, id := range ids {
			r.known[id] = struct{}{}
		}
		if _, ok := r.known[show]; !ok {
			return nil, false, nil
		}
	}
	cfg, ok, err := r.Remote.ShowConfig(ctx, show)
	if err != nil || !ok {
		return nil, false, err
	}
	r.remember(show, cfg)
	return cfg, true, nil
}

func (r *RemoteRegistry) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// remember caches a show's config (mu held).
func (r *RemoteRegistry) remember(show string, cfg []byte) {
	if r.configs == nil {
		r.configs = map[string][]byte{}
	}
	r.configs[show] = append([]byte(nil), cfg...)
}

func (r *RemoteRegistry) Register(ctx context.Context, show string, cfg []byte) (bool, error) {
	created, err := r.Remote.RegisterShow(ctx, show, cfg)
	if err != nil {
		return false, err
	}
	if created {
		r.mu.Lock()
		r.remember(show, cfg)
		r.mu.Unlock()
	}
	return created, nil
}

// List reads the show ids from Redis (one small read) and refreshes the
// local set of known ids with them.
func (r *RemoteRegistry) List(ctx context.Context) ([]string, error) {
	ids, err := r.Remote.ShowIDs(ctx)
	if err != nil {
		return nil, err
	}
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	r.mu.Lock()
	r.fetched = r.now()
	r.known = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		r.known[id] = struct{}{}
	}
	r.mu.Unlock()
	return ids, nil
}
