package redis

import (
	"fmt"
	"strings"
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
	rows    string // hash: state rows (row key -> value), the state at snapseq
	stage   string // hash: rows of a whole state being seeded (Seed)
}

// list returns the keys in the order applyLua expects them.
func (k shardKeys) list() []string {
	return []string{k.meta, k.snap, k.log, k.counts, k.archive, k.lease, k.rows}
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
		archive: tag + ":archive", lease: tag + ":lease", rows: tag + ":rows", stage: tag + ":stage"}, nil
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
