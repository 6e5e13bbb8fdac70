package redis

import (
	"fmt"
	"strings"
)

// shardKeys are the keys of one shard, all under the shard's hash tag so
// that one script may touch them on Redis Cluster.
type shardKeys struct {
	meta   string // hash: ctr nonce snapseq wctr wnonce countsseq
	snap   string // string: the newest snapshot
	log    string // list: journal entries snapseq+1 .. seq (seq = snapseq + length)
	counts string // hash: read model, section id -> "available,held,reserved,sold", "totals"
}

// list returns the keys in the order the scripts expect them.
func (k shardKeys) list() []string { return []string{k.meta, k.snap, k.log, k.counts} }

// HashTag returns the Redis Cluster hash tag of a shard identity "SHOW/N":
// "{show:SHOW:shard:N}". N must be decimal digits; SHOW must be non-empty and
// free of '{' and '}', which would break the tag.
func HashTag(shard string) (string, error) {
	i := strings.LastIndexByte(shard, '/')
	if i <= 0 || i == len(shard)-1 {
		return "", fmt.Errorf("%w: %q is not SHOW/N", ErrBadShard, shard)
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
	return shardKeys{meta: tag + ":meta", snap: tag + ":snap", log: tag + ":log", counts: tag + ":counts"}, nil
}

// rateKey is the key of a rate-limit bucket.
func rateKey(key string) string { return "ratelimit:" + key }
