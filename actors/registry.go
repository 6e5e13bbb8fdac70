package actors

import (
	"context"
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
}

// KVStore is the part of a node's Pebble store a KVRegistry needs.
type KVStore interface {
	Get(key string) ([]byte, bool, error)
	PutIfAbsent(key string, val []byte) (stored bool, err error)
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

// RemoteShows is the part of the Redis client a RemoteRegistry needs.
type RemoteShows interface {
	RegisterShow(ctx context.Context, show string, cfg []byte) (created bool, err error)
	Shows(ctx context.Context) (map[string][]byte, error)
}

// RemoteRegistry keeps the registry in Redis, so every node knows every
// show, with a local copy: a known show costs nothing, and unknown ids cost
// at most one Redis read per MinRefresh however many arrive (a show created
// on another node is seen here within MinRefresh).
type RemoteRegistry struct {
	Remote     RemoteShows
	MinRefresh time.Duration // default 200 ms

	mu      sync.Mutex // protects following fields
	known   map[string][]byte
	fetched time.Time // last full read
}

func (r *RemoteRegistry) Lookup(ctx context.Context, show string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.known[show]; ok {
		return v, true, nil
	}
	min := r.MinRefresh
	if min <= 0 {
		min = 200 * time.Millisecond
	}
	if time.Since(r.fetched) < min {
		return nil, false, nil
	}
	all, err := r.Remote.Shows(ctx)
	if err != nil {
		return nil, false, err
	}
	r.fetched = time.Now()
	r.known = all
	v, ok := r.known[show]
	return v, ok, nil
}

func (r *RemoteRegistry) Register(ctx context.Context, show string, cfg []byte) (bool, error) {
	created, err := r.Remote.RegisterShow(ctx, show, cfg)
	if err != nil {
		return false, err
	}
	if created {
		r.mu.Lock()
		if r.known == nil {
			r.known = map[string][]byte{}
		}
		r.known[show] = append([]byte(nil), cfg...)
		r.mu.Unlock()
	}
	return created, nil
}
