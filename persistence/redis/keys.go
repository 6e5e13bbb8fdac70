package redis

import (
	"fmt"
	"strings"
	"sync"
)

// shardKeys are the keys of one shard, all under the shard's hash tag so
// that one script may touch them on Redis Cluster.
type shardKeys struct {
	meta    string // hash: ctr nonce snapseq wctr wnonce countsseq evseq
	snap    string // string: the newest snapshot
	log     string // list: journal entries snapseq+1 .. seq (seq = snapseq + length)
	counts  string // hash: read model, section id -> "available,held,reserved,sold", "totals"
	archive string // hash: order id -> terminal order (JSON)
	lease   string // string "ctr:nonce" of the owning activation, with a PX expiry
	// rows was the hash of state rows (row key -> value) before buckets;
	// an activation moves such a hash to rowsOld and leaves a string here
	// (see bucketsLua). The rows are in rowBuckets hashes (bucketKeys).
	rows string
	// rowsOld is the hash of state rows of the layout before buckets, moved
	// aside: read, and drained by every write of a row, never written.
	rowsOld string
	stage   string // hash: a Seed's stage of the layout before buckets (dropped by Seed, never written)
	tag     string
}

// list returns the keys in the order applyLua expects them: the seven, then
// the row buckets.
func (k shardKeys) list() []string {
	if l, ok := applyKeys.Load(k.tag); ok {
		return l.([]string)
	}
	l := append([]string{k.meta, k.snap, k.log, k.counts, k.archive, k.lease, k.rowsOld}, k.bucketKeys("rows")...)
	applyKeys.Store(k.tag, l)
	return l
}

// applyKeys caches list per hash tag (a checkpoint's call needs them all).
var applyKeys sync.Map

// bucketKeys are the rowBuckets hashes of the state rows ("rows": row key
// -> value, each row in the bucket of rowBucket(key); the state at
// snapseq), or of a Seed's stage ("stage").
func (k shardKeys) bucketKeys(kind string) []string {
	out := make([]string, rowBuckets)
	for b := range out {
		out[b] = fmt.Sprintf("%s:%s:%02d", k.tag, kind, b)
	}
	return out
}

// rowBuckets is how many hashes hold a shard's state rows. Reading a hash
// whole (HGETALL) costs redis-server a third of what HSCAN costs a row
// (BenchmarkRowsReadShapes), but blocks it for the whole hash: 32 buckets
// keep a bucket of a show of 1,000,000 rows near the rows one HSCAN chunk
// returns (32,768). Stored layout: never change it (nor rowBucket).
const rowBuckets = 32

// rowBucket is the bucket of a state row: FNV-1a (32 bits) of its key,
// modulo rowBuckets. Stored layout: never change it.
func rowBucket(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % rowBuckets)
}

// maxShowID is the longest show id.
const maxShowID = 64

// validShowID reports whether s is a show id: 1 to 64 of [A-Za-z0-9._-].
func validShowID(s string) bool {
	if len(s) == 0 || len(s) > maxShowID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// HashTag returns the Redis Cluster hash tag of a shard identity: a plain
// show id (1 to 64 of [A-Za-z0-9._-], one actor per show) gives
// "{show:ID}"; the older form "SHOW/N" gives "{show:SHOW:shard:N}" (N
// decimal digits; SHOW non-empty and free of '{' and '}', which would break
// the tag).
func HashTag(shard string) (string, error) {
	if validShowID(shard) {
		return "{show:" + shard + "}", nil
	}
	i := strings.LastIndexByte(shard, '/')
	if i <= 0 || i == len(shard)-1 {
		return "", fmt.Errorf("%w: %q is neither a show id nor SHOW/N", ErrBadShard, shard)
	}
	show, n := shard[:i], shard[i+1:]
	if strings.ContainsAny(show, "{}") {
		return "", fmt.Errorf("%w: %q contains a brace", ErrBadShard, shard)
	}
	if len(n) > 10 {
		return "", fmt.Errorf("%w: %q: shard number too long", ErrBadShard, shard)
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%w: %q: shard number is not decimal", ErrBadShard, shard)
		}
	}
	return "{show:" + show + ":shard:" + n + "}", nil
}

// keysOf returns the keys of a shard.
func keysOf(shard string) (shardKeys, error) {
	tag, err := HashTag(shard)
	if err != nil {
		return shardKeys{}, err
	}
	return shardKeys{meta: tag + ":meta", snap: tag + ":snap", log: tag + ":log", counts: tag + ":counts",
		archive: tag + ":archive", lease: tag + ":lease", rows: tag + ":rows", rowsOld: tag + ":rows:old", stage: tag + ":stage",
		tag: tag}, nil
}

// configKey returns the key of a show's registered configuration.
func configKey(show string) (string, error) {
	if !validShowID(show) {
		return "", fmt.Errorf("%w: %q is not a show id", ErrBadShard, show)
	}
	return "{show:" + show + "}:config", nil
}

// rateKey is the key of a rate-limit bucket.
func rateKey(key string) string { return "ratelimit:" + key }
