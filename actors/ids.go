package actors

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
)

// Hold and order ids name their show and the shards that hold their parts, so
// any node can route them without a lookup: "<show>~<shard>[.<shard>...]~<random>".
// The random part is 128 bits from crypto/rand, so ids cannot be guessed.
// A show id never contains '~'.

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return idEncoding.EncodeToString(b[:])
}

func newID(show string, shards []int) string {
	parts := make([]string, len(shards))
	for i, s := range shards {
		parts[i] = strconv.Itoa(s)
	}
	return show + "~" + strings.Join(parts, ".") + "~" + randomToken()
}

// parseID splits an id into its show and shard list.
func parseID(id string) (show string, shards []int, err error) {
	a := strings.IndexByte(id, '~')
	b := strings.LastIndexByte(id, '~')
	if a <= 0 || b <= a+1 || b == len(id)-1 || len(id) > 200 {
		return "", nil, fmt.Errorf("malformed id")
	}
	show = id[:a]
	seen := map[int]bool{}
	for _, p := range strings.Split(id[a+1:b], ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1000 || seen[n] || strconv.Itoa(n) != p {
			return "", nil, fmt.Errorf("malformed id")
		}
		seen[n] = true
		shards = append(shards, n)
	}
	return show, shards, nil
}

// NewShowID returns a random show id, for shows created without one.
func NewShowID() string { return "show-" + randomToken()[:12] }
