package seatmap

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
)

// The live holds are kept in a slab without pointers: a million holds of a
// stadium on-sale are a few fixed-size pages the garbage collector does not
// scan, indexed by slot numbers, not by pointers. A hold's id is not kept as
// a string when it has the form Booking gives it (show + "~" + 26 characters
// of base32, 16 random bytes: canonical): its 128 bits sit in the slot, and
// the string is rebuilt when shown. Any other id (older forms such as
// "<show>~<shards>~<random>", tests' "h1") is kept in a side table. Users are
// numbers in a table of their tallies (userTable), what a hold took a number
// in takeTable (shared by every GA hold of one size, section and amount).

// holdSlot is one slot of the slab: a live hold, or a free slot (take 0).
type holdSlot struct {
	key       idKey // the canonical id's bits; zero for an id in the side table
	createdAt int64
	expiresAt int64
	user      uint32 // number in Shard.users
	take      uint32 // number in Shard.takes; 0: a free slot
	quantity  int32
	heapIdx   int32 // position in holdTable.timers while live, -1 once disarmed
}

// idKey is the 128 random bits of a canonical id, in an order-preserving
// form: keys compare (hi, then lo) as their ids compare as strings.
type idKey struct{ hi, lo uint64 }

func (a idKey) less(b idKey) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

const (
	idTokenLen = 26 // base32 characters of 16 bytes
	pageBits   = 12 // slots per page of a slab: 4,096
	pageMask   = 1<<pageBits - 1
)

// idRank maps a base32 character of a token (alphabet a-z2-7) to its rank
// in byte order ('2' < ... < '7' < 'a' < ... < 'z'), +1 (0: not in the
// alphabet); idChar is its inverse.
var idRank, idChar = func() (r [256]uint8, c [32]byte) {
	const order = "234567abcdefghijklmnopqrstuvwxyz"
	for i := 0; i < len(order); i++ {
		r[order[i]], c[i] = uint8(i+1), order[i]
	}
	return r, c
}()

// lastRank and lastChar: the token's last character carries 3 bits (its
// low 2 bits are zero in a canonical token): characters a e i m q u y 4, in
// byte order 4 a e i m q u y.
var lastRank, lastChar = func() (r [256]uint8, c [8]byte) {
	const order = "4aeimquy"
	for i := 0; i < len(order); i++ {
		r[order[i]], c[i] = uint8(i+1), order[i]
	}
	return r, c
}()

// parseToken returns the key of a 26-character token, or false when it is
// not canonical (a character outside the alphabet, or a last character
// another token of the same bytes would not end with). The characters go
// into three words on independent chains, and one test at the end finds a
// character outside the alphabet (rank 0, minus one: all bits set): a
// recovery parses a million ids (BenchmarkParseToken, against the loop of
// one 128-bit shift a character, parseTokenLoop in the tests).
func parseToken(t string) (idKey, bool) {
	if len(t) != idTokenLen {
		return idKey{}, false
	}
	var a, b, bad uint64
	for i := 0; i < 12; i++ { // 60 bits each
		ra, rb := uint64(idRank[t[i]])-1, uint64(idRank[t[12+i]])-1
		a, b = a<<5|ra&31, b<<5|rb&31
		bad |= ra | rb
	}
	r24, r25 := uint64(idRank[t[24]])-1, uint64(lastRank[t[25]])-1
	bad |= r24 | r25
	if bad>>5 != 0 { // a rank 0 wrapped around
		return idKey{}, false
	}
	// a: bits 127-68 of the key, b: 67-8, r24: 7-3, r25: 2-0
	return idKey{hi: a<<4 | b>>56, lo: b<<8 | r24<<3 | r25}, true
}

// appendToken appends k's token to b.
func appendToken(b []byte, k idKey) []byte {
	var t [idTokenLen]byte
	t[idTokenLen-1] = lastChar[k.lo&7]
	k.lo = k.lo>>3 | k.hi<<61
	k.hi >>= 3
	for i := idTokenLen - 2; i >= 0; i-- {
		t[i] = idChar[k.lo&31]
		k.lo = k.lo>>5 | k.hi<<59
		k.hi >>= 5
	}
	return append(b, t[:]...)
}

// slab is pages of fixed-size values, addressed by number. The first page
// grows as a slice does (a small show stays small), the others are made
// full size: past the first page, a value never moves and growth copies
// nothing. A pointer from at is good until the next call of next.
type slab[T any] struct {
	pages [][]T
	n     uint32 // numbers handed out: 0..n-1
}

func (p *slab[T]) at(i uint32) *T { return &p.pages[i>>pageBits][i&pageMask] }

// next hands out the next number (its value zero).
func (p *slab[T]) next() uint32 {
	pg := int(p.n >> pageBits)
	if pg == len(p.pages) {
		size := 1 << pageBits
		if pg == 0 {
			size = 16
		}
		p.pages = append(p.pages, make([]T, 0, size))
	}
	var zero T
	p.pages[pg] = append(p.pages[pg], zero)
	p.n++
	return p.n - 1
}

// numIndex is a hash index of numbers in a table t, keyed by what t says a
// number's key is, split into numIndexParts open-addressing tables by bits of
// the key's hash. Growing or shrinking rehashes one part, 1/64 of the entries:
// one table's doubling rehashed every entry on one actor turn, ~0.1 s for the
// holds' and the users' indexes at 786,432 live holds (the fill's slowest
// holds, bench/README.md "One index in parts"). The zero value is empty.
type numIndex[K comparable, T interface {
	keyOf(num uint32) K
	hashOf(K) uint64
}] struct {
	parts [numIndexParts]numTable[K, T]
	n     int
}

const numIndexParts = 64

// part is the table of a key's hash: bits the tables' homes and tags (the
// low 31 bits) do not use.
func (x *numIndex[K, T]) part(h uint64) *numTable[K, T] {
	return &x.parts[(h>>48)&(numIndexParts-1)]
}

func (x *numIndex[K, T]) get(t T, k K) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	h := t.hashOf(k)
	return x.part(h).get(t, k, h)
}

// put adds num under its key; false (and no change) when the key is there.
func (x *numIndex[K, T]) put(t T, num uint32) bool {
	k := t.keyOf(num)
	h := t.hashOf(k)
	if !x.part(h).put(t, k, h, num) {
		return false
	}
	x.n++
	return true
}

// del removes key k, if there.
func (x *numIndex[K, T]) del(t T, k K) {
	x.delNum(t, k, anyNum)
}

// delNum removes key k if it is there under number num (any number: anyNum),
// and reports whether it did: one probe where a get and a del take two.
func (x *numIndex[K, T]) delNum(t T, k K, num uint32) bool {
	if x.n == 0 {
		return false
	}
	h := t.hashOf(k)
	if x.part(h).del(t, k, h, num) {
		x.n--
		return true
	}
	return false
}

// anyNum asks delNum to remove a key under whatever number it has.
const anyNum = ^uint32(0)

// reserve sizes every part for n entries in all (spread evenly, with room
// for the spread), dropping what they held: for an empty index.
func (x *numIndex[K, T]) reserve(n int) {
	per := slotsFor(n/numIndexParts + n/(8*numIndexParts) + 1)
	for i := range x.parts {
		x.parts[i] = numTable[K, T]{slots: make([]indexSlot, per)}
	}
	x.n = 0
}

// slotCount is the slots of all parts (memory; tests).
func (x *numIndex[K, T]) slotCount() int {
	c := 0
	for i := range x.parts {
		c += len(x.parts[i].slots)
	}
	return c
}

// clone copies the index (the least a copy-on-write snapshot would copy;
// restore_bench_test.go).
func (x *numIndex[K, T]) clone() numIndex[K, T] {
	c := numIndex[K, T]{n: x.n}
	for i := range x.parts {
		c.parts[i] = numTable[K, T]{slots: slices.Clone(x.parts[i].slots), n: x.parts[i].n}
	}
	return c
}

// numTable is one part of a numIndex: an open-addressing hash table (linear
// probing, backward-shift deletion), 8 bytes a slot: a number and its tag, the
// low 31 bits of its key's hash. Probes compare tags before keys (a false
// match is 1 in 2^(31-log2 slots), under 1 in 4,096), and growing, shrinking
// and deleting take an entry's home from its tag: none of them reads the
// entry's key, a cache miss into the slab per entry (growth's rehash was
// ~10% of a show actor's CPU at 64 callers in bench/serial: issue 12). At
// a load of 3/8 to 3/4.
type numTable[K comparable, T interface {
	keyOf(num uint32) K
	hashOf(K) uint64
}] struct {
	slots []indexSlot // len is 0 or a power of two
	n     int
}

// indexSlot is one place of a numTable: tag and number side by side, so that
// a probe reads one cache line (in arrays of their own they cost two misses a
// probe in a table larger than the cache: bench/README.md, "Index slots").
type indexSlot struct {
	tag uint32 // the low 31 bits of its key's hash, top bit set; 0 free
	num uint32 // num+1; 0 free
}

// tagHome is where an entry with tag belongs in a table of mask+1 slots
// (mask < 2^31).
func tagHome(tag uint32, mask int) int { return int(tag) & mask }

const numIndexMinSlots = 16

func (x *numTable[K, T]) home(h uint64) (int, uint32) {
	return int(h & uint64(len(x.slots)-1)), uint32(h)&(1<<31-1) | 1<<31
}

// find returns the slot of k (hash h), or -1, and where the probe for it
// ended.
func (x *numTable[K, T]) find(t T, k K, h uint64) (at, end int, tag uint32) {
	mask := len(x.slots) - 1
	i, tag := x.home(h)
	for ; x.slots[i].tag != 0; i = (i + 1) & mask {
		if x.slots[i].tag == tag && t.keyOf(x.slots[i].num-1) == k {
			return i, i, tag
		}
	}
	return -1, i, tag
}

func (x *numTable[K, T]) get(t T, k K, h uint64) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	if i, _, _ := x.find(t, k, h); i >= 0 {
		return x.slots[i].num - 1, true
	}
	return 0, false
}

func (x *numTable[K, T]) put(t T, k K, h uint64, num uint32) bool {
	if len(x.slots) == 0 || (x.n+1) > len(x.slots)*3/4 {
		x.resize(t, slotsFor(x.n+1))
	}
	i, end, tag := x.find(t, k, h)
	if i >= 0 {
		return false
	}
	x.slots[end] = indexSlot{tag: tag, num: num + 1}
	x.n++
	return true
}

// del removes key k if it is there under number num (or anyNum); it shrinks
// the table when a quarter of it would do (memory follows live work).
func (x *numTable[K, T]) del(t T, k K, h uint64, num uint32) bool {
	if x.n == 0 {
		return false
	}
	i, _, _ := x.find(t, k, h)
	if i < 0 || num != anyNum && x.slots[i].num-1 != num {
		return false
	}
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j].tag != 0; j = (j + 1) & mask {
		if hj := tagHome(x.slots[j].tag, mask); (j-hj)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
	if len(x.slots) > numIndexMinSlots && x.n < len(x.slots)/8 {
		x.resize(t, slotsFor(x.n))
	}
	return true
}

func (x *numTable[K, T]) resize(t T, size int) {
	old := x.slots
	x.slots = make([]indexSlot, size)
	mask := size - 1
	for _, s := range old {
		if s.tag == 0 {
			continue
		}
		i := tagHome(s.tag, mask)
		for x.slots[i].tag != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// slotsFor is the power of two that keeps n entries at a load of 3/4 or less.
func slotsFor(n int) int {
	size := numIndexMinSlots
	for size*3/4 < n {
		size *= 2
	}
	return size
}

// holdTable is the live holds: the slab, its index by id, the side table
// of ids that are not canonical, and the expiry timers.
type holdTable struct {
	slab    slab[holdSlot]
	free    []uint32 // free slots, reused last-freed first
	n       int
	index   numIndex[idKey, *holdTable] // canonical ids
	side    map[string]uint32           // other ids -> slot
	sideIDs map[uint32]string           // slot -> its id, for those
	prefix  string                      // show id + "~": canonical ids start with it
	seed    uint64
	// the last canonical id parsed and its key (see canonical)
	lastID  string
	lastKey idKey
	lastOK  bool
	// timers is a min-heap of slots by (expiresAt, id); each live slot
	// knows its place (heapIdx)
	timers []uint32
}

func newHoldTable(prefix string, hint int) holdTable {
	t := holdTable{prefix: prefix, seed: uint64(maphash.Comparable(maphash.MakeSeed(), 0))}
	if hint > 0 {
		t.index.reserve(hint)
		t.timers = make([]uint32, 0, hint)
	}
	return t
}

func (t *holdTable) keyOf(slot uint32) idKey { return t.slab.at(slot).key }

func (t *holdTable) hashOf(k idKey) uint64 {
	h := (k.hi ^ t.seed) * 0x9e3779b97f4a7c15
	h = bits.RotateLeft64(h, 31) ^ k.lo
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

func (t *holdTable) len() int { return t.n }

// canonical returns the key of id when it has the canonical form. It
// remembers the last id it parsed: a new hold's id is parsed by its lookup
// and again by its add, one after the other.
func (t *holdTable) canonical(id string) (idKey, bool) {
	if id == t.lastID && t.lastOK {
		return t.lastKey, true
	}
	if !t.prefixed(id) {
		return idKey{}, false
	}
	k, ok := parseToken(id[len(t.prefix):])
	if ok {
		t.lastID, t.lastKey, t.lastOK = id, k, true
	}
	return k, ok
}

// prefixed reports whether id is the show's prefix and a token's length
// more (a canonical id if the token parses).
func (t *holdTable) prefixed(id string) bool {
	return len(id) == len(t.prefix)+idTokenLen && id[:len(t.prefix)] == t.prefix && t.prefix != ""
}

// get returns the slot of the live hold id.
func (t *holdTable) get(id string) (uint32, bool) {
	if k, ok := t.canonical(id); ok {
		return t.index.get(t, k)
	}
	slot, ok := t.side[id]
	return slot, ok
}

// at returns a slot; the pointer stays valid while the slot is live.
func (t *holdTable) at(slot uint32) *holdSlot { return t.slab.at(slot) }

// id returns the id of a live slot.
func (t *holdTable) id(slot uint32) string {
	if len(t.sideIDs) > 0 {
		if id, ok := t.sideIDs[slot]; ok {
			return id
		}
	}
	return t.keyID(t.at(slot).key)
}

// keyID is the id of canonical key k.
func (t *holdTable) keyID(k idKey) string {
	b := make([]byte, 0, len(t.prefix)+idTokenLen)
	return string(appendToken(append(b, t.prefix...), k))
}

// add adds hold h (key, heapIdx ignored) under id, false when a hold of
// that id is live. Its timer is armed, or with ordered false only pushed
// (restore: initTimers orders them after the last add).
func (t *holdTable) add(id string, h holdSlot, ordered bool) (uint32, bool) {
	k, canon := t.canonical(id)
	return t.addKeyed(id, k, canon, h, ordered)
}

// addKeyed is add with id's canonical key found already (canon false: id
// goes to the side table).
func (t *holdTable) addKeyed(id string, k idKey, canon bool, h holdSlot, ordered bool) (uint32, bool) {
	if !canon {
		if _, ok := t.side[id]; ok {
			return 0, false
		}
	}
	var slot uint32
	if n := len(t.free); n > 0 {
		slot, t.free = t.free[n-1], t.free[:n-1]
	} else {
		slot = t.slab.next()
	}
	h.key = k
	h.heapIdx = int32(len(t.timers))
	*t.at(slot) = h
	if canon {
		if !t.index.put(t, slot) { // the id is live: give the slot back
			*t.at(slot) = holdSlot{}
			t.free = append(t.free, slot)
			return 0, false
		}
	} else {
		if t.side == nil {
			t.side, t.sideIDs = map[string]uint32{}, map[uint32]string{}
		}
		t.side[id], t.sideIDs[slot] = slot, id
	}
	t.n++
	t.timers = append(t.timers, slot)
	if ordered {
		t.up(int(h.heapIdx))
	}
	return slot, true
}

// remove forgets a live slot: its timer, its index entry, its id.
func (t *holdTable) remove(slot uint32) {
	h := t.at(slot)
	t.disarm(slot)
	if id, ok := t.sideIDs[slot]; ok {
		delete(t.side, id)
		delete(t.sideIDs, slot)
	} else {
		t.index.del(t, h.key)
	}
	*h = holdSlot{}
	t.n--
	if t.n == 0 { // all gone: the pages go too (memory follows live work)
		*t = holdTable{prefix: t.prefix, seed: t.seed}
		return
	}
	t.free = append(t.free, slot)
	if sparse(t.n, t.slab.n) {
		t.compact()
	}
}

// sparse reports whether a slab of slots with live ones in use is worth
// compacting: past its first page, and an eighth full or less (memory
// follows live work, at O(live) a compaction, amortized over the removals
// that emptied it).
func sparse(live int, slots uint32) bool { return slots >= 1<<pageBits && uint32(live) <= slots/8 }

// compact moves the live slots to a new slab, in slot order: slot numbers
// change (callers keep none across a remove), and so do the timers' and
// the index's.
func (t *holdTable) compact() {
	nt := holdTable{prefix: t.prefix, seed: t.seed, timers: t.timers}
	nt.index.reserve(t.n)
	for slot := range t.all() {
		h := t.at(slot)
		ns := nt.slab.next()
		*nt.slab.at(ns) = *h
		nt.timers[h.heapIdx] = ns
		if id, ok := t.sideIDs[slot]; ok {
			if nt.side == nil {
				nt.side, nt.sideIDs = map[string]uint32{}, map[uint32]string{}
			}
			nt.side[id], nt.sideIDs[ns] = ns, id
		} else {
			nt.index.put(&nt, ns)
		}
	}
	nt.n = t.n
	*t = nt
}

// all yields every live slot, in slot order. The table must not change
// meanwhile.
func (t *holdTable) all() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for slot := uint32(0); slot < t.slab.n; slot++ {
			if t.at(slot).take != 0 && !yield(slot) {
				return
			}
		}
	}
}

// idLess orders two live slots by id.
func (t *holdTable) idLess(a, b uint32) bool {
	if len(t.sideIDs) == 0 {
		return t.at(a).key.less(t.at(b).key)
	}
	_, sa := t.sideIDs[a]
	_, sb := t.sideIDs[b]
	if !sa && !sb {
		return t.at(a).key.less(t.at(b).key)
	}
	return t.id(a) < t.id(b)
}

func (t *holdTable) less(i, j int) bool {
	a, b := t.at(t.timers[i]), t.at(t.timers[j])
	return a.expiresAt < b.expiresAt || (a.expiresAt == b.expiresAt && t.idLess(t.timers[i], t.timers[j]))
}

func (t *holdTable) swap(i, j int) {
	q := t.timers
	q[i], q[j] = q[j], q[i]
	t.at(q[i]).heapIdx, t.at(q[j]).heapIdx = int32(i), int32(j)
}

func (t *holdTable) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			break
		}
		t.swap(i, p)
		i = p
	}
}

func (t *holdTable) down(i int) bool {
	start, n := i, len(t.timers)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && t.less(l, m) {
			m = l
		}
		if r < n && t.less(r, m) {
			m = r
		}
		if m == i {
			return i > start
		}
		t.swap(i, m)
		i = m
	}
}

// initTimers orders the timers after unordered adds, in O(n).
func (t *holdTable) initTimers() {
	for i := len(t.timers)/2 - 1; i >= 0; i-- {
		t.down(i)
	}
}

// reset moves a live slot's timer to its expiresAt (already changed).
func (t *holdTable) reset(slot uint32) {
	i := int(t.at(slot).heapIdx)
	if !t.down(i) {
		t.up(i)
	}
}

// disarm removes a slot's timer if it is armed.
func (t *holdTable) disarm(slot uint32) {
	h := t.at(slot)
	if h.heapIdx < 0 {
		return
	}
	i, last := int(h.heapIdx), len(t.timers)-1
	if i != last {
		t.swap(i, last)
	}
	t.timers = t.timers[:last]
	if i != last {
		if !t.down(i) {
			t.up(i)
		}
	}
	h.heapIdx = -1
}

// first returns the slot whose timer is due first.
func (t *holdTable) first() (uint32, bool) {
	if len(t.timers) == 0 {
		return 0, false
	}
	return t.timers[0], true
}

// peek returns the earliest expiry, 0 without live holds.
func (t *holdTable) peek() int64 {
	if len(t.timers) == 0 {
		return 0
	}
	return t.at(t.timers[0]).expiresAt
}

// userEntry is a user's tally: the seats of their live holds and orders,
// and archived sales, and how many live holds name the entry (it stays
// while one does).
type userEntry struct {
	name  string
	n     int32
	holds int32
}

// userTable is the users by number, with an index by name. An entry
// leaves when its seats and holds are both zero.
type userTable struct {
	slab  slab[userEntry]
	free  []uint32
	index numIndex[string, *userTable]
	seed  maphash.Seed
}

func newUserTable(hint int) userTable {
	u := userTable{seed: maphash.MakeSeed()}
	if hint > 0 {
		u.index.reserve(hint)
	}
	return u
}

func (u *userTable) keyOf(num uint32) string   { return u.slab.at(num).name }
func (u *userTable) hashOf(name string) uint64 { return maphash.String(u.seed, name) }

func (u *userTable) len() int { return u.index.n }

// name returns the name of user num.
func (u *userTable) name(num uint32) string { return u.slab.at(num).name }

// of returns user's seats (0 for a user without an entry).
func (u *userTable) of(name string) int {
	if num, ok := u.index.get(u, name); ok {
		return int(u.slab.at(num).n)
	}
	return 0
}

// entry returns the number of user's entry, making one (one probe of the
// index for a new user: where the probe for it ended takes it).
func (u *userTable) entry(name string) uint32 {
	h := u.hashOf(name)
	x := u.index.part(h)
	if len(x.slots) == 0 || (x.n+1) > len(x.slots)*3/4 {
		x.resize(u, slotsFor(x.n+1))
	}
	i, end, tag := x.find(u, name, h)
	if i >= 0 {
		return x.slots[i].num - 1
	}
	var num uint32
	if n := len(u.free); n > 0 {
		num, u.free = u.free[n-1], u.free[:n-1]
	} else {
		num = u.slab.next()
	}
	*u.slab.at(num) = userEntry{name: name}
	x.slots[end] = indexSlot{tag: tag, num: num + 1}
	x.n++
	u.index.n++
	return num
}

// add adds d seats to user's tally (making one, as a map's += would), and
// returns the new count.
func (u *userTable) add(name string, d int) int {
	e := u.slab.at(u.entry(name))
	e.n += int32(d)
	return int(e.n)
}

// take takes d seats from user's tally; the entry leaves at zero (unless
// a live hold names it).
func (u *userTable) take(name string, d int) {
	if num, ok := u.index.get(u, name); ok {
		u.takeNum(num, d, false)
	}
}

// addHold adds a live hold of d seats to user's tally and returns the
// user's number, which the hold keeps.
func (u *userTable) addHold(name string, d int) uint32 {
	num := u.entry(name)
	e := u.slab.at(num)
	e.n += int32(d)
	e.holds++
	return num
}

// takeNum takes d seats (and a hold, with hold) from user num.
func (u *userTable) takeNum(num uint32, d int, hold bool) {
	e := u.slab.at(num)
	e.n -= int32(d)
	if hold {
		e.holds--
	}
	if e.n == 0 && e.holds == 0 {
		u.index.del(u, e.name)
		*e = userEntry{}
		if u.index.n == 0 { // all gone: the pages go too
			*u = userTable{seed: u.seed}
			return
		}
		u.free = append(u.free, num)
	}
}

// asMap returns the tallies as a map.
func (u *userTable) asMap() map[string]int {
	m := make(map[string]int, u.len())
	for num := uint32(0); num < u.slab.n; num++ {
		if e := u.slab.at(num); e.name != "" || u.live(num) {
			m[e.name] = int(e.n)
		}
	}
	return m
}

// live reports whether num is an entry (a user named "" is one too).
func (u *userTable) live(num uint32) bool {
	got, ok := u.index.get(u, u.slab.at(num).name)
	return ok && got == num
}

// takeTable is what holds took, by number (from 1): a hold's own take
// (seats) leaves with the hold, a shared one (GA capacity alone, see
// Shard.newTake) stays.
type takeTable struct {
	slab slab[holdTake]
	free []uint32
}

// at returns take num; the pointer is good until the next add.
func (t *takeTable) at(num uint32) *holdTake { return t.slab.at(num - 1) }

// add adds tk, a hold's own (dropped with it) or shared.
func (t *takeTable) add(tk holdTake, own bool) uint32 {
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		i = t.slab.next()
	}
	tk.own = own
	*t.slab.at(i) = tk
	return i + 1
}

// drop forgets take num if it is a hold's own.
func (t *takeTable) drop(num uint32) {
	tk := t.at(num)
	if !tk.own {
		return
	}
	*tk = holdTake{}
	t.free = append(t.free, num-1)
}

// compactUsers moves the user entries to a new slab when theirs is sparse
// (see sparse), and renumbers the live holds' users.
func (s *Shard) compactUsers() {
	u := &s.users
	if !sparse(u.len(), u.slab.n) {
		return
	}
	remap := make([]uint32, u.slab.n)
	nu := userTable{seed: u.seed}
	nu.index.reserve(u.len())
	for num := uint32(0); num < u.slab.n; num++ {
		if !u.live(num) {
			continue
		}
		nn := nu.slab.next()
		*nu.slab.at(nn) = *u.slab.at(num)
		nu.index.put(&nu, nn)
		remap[num] = nn
	}
	for slot := range s.holds.all() {
		h := s.holds.at(slot)
		h.user = remap[h.user]
	}
	*u = nu
}
