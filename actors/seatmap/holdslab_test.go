package seatmap

import (
	"math/rand"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestTokenKeys: a canonical token parses to a key that gives the token
// back, keys order as their tokens do, and a token of another form does
// not parse.
func TestTokenKeys(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	var toks []string
	for i := 0; i < 20_000; i++ {
		tok := randomToken(rng)
		if i%50 == 49 { // long shared prefixes: ties decided late in the key
			tok = toks[len(toks)-1][:20] + tok[20:]
		}
		k, ok := parseToken(tok)
		if !ok {
			t.Fatalf("seed %d: %q does not parse", seed, tok)
		}
		if got := string(appendToken(nil, k)); got != tok {
			t.Fatalf("seed %d: %q gives back %q", seed, tok, got)
		}
		toks = append(toks, tok)
	}
	for i := 0; i+1 < len(toks); i++ {
		a, b := toks[i], toks[i+1]
		ka, _ := parseToken(a)
		kb, _ := parseToken(b)
		if ka.less(kb) != (a < b) || kb.less(ka) != (b < a) {
			t.Fatalf("seed %d: %q < %q is %v, keys say %v", seed, a, b, a < b, ka.less(kb))
		}
	}
	for _, bad := range []string{"", toks[0][:25], toks[0] + "a", "A" + toks[0][1:], "1" + toks[0][1:],
		toks[0][:25] + "b", toks[0][:25] + "7", toks[0][:10] + "~" + toks[0][11:]} {
		if _, ok := parseToken(bad); ok {
			t.Errorf("%q parses", bad)
		}
	}
	// every token of the canonical form is one the encoding makes
	for _, last := range "4aeimquy" {
		tok := toks[0][:25] + string(last)
		b, err := idEncoding.DecodeString(tok)
		if err != nil || idEncoding.EncodeToString(b) != tok {
			t.Errorf("%q: %v", tok, err)
		}
	}
}

// TestHoldTableMatchesModel: random adds, removes, gets and expiry
// changes of holds with canonical ids and others (side table) agree with
// a map at every step, and the timers give the holds in (expiresAt, id)
// order, through growth of the slab and the index, slot reuse and the
// table emptying.
func TestHoldTableMatchesModel(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	const prefix = "show~"
	var ids []string
	for i := 0; i < 12_000; i++ {
		switch i % 5 {
		case 0:
			ids = append(ids, "h"+strconv.Itoa(i)) // a test's id
		case 1:
			ids = append(ids, prefix+"3~"+randomToken(rng)) // round 1's form
		default:
			ids = append(ids, prefix+randomToken(rng))
		}
	}
	type entry struct {
		slot uint32
		exp  int64
	}
	for _, keys := range []int{30, 12_000} {
		x := newHoldTable(prefix, 0)
		m := map[string]entry{}
		check := func(step int) {
			if x.len() != len(m) || len(x.timers) != len(m) {
				t.Fatalf("seed %d step %d: len %d, %d timers, want %d", seed, step, x.len(), len(x.timers), len(m))
			}
		}
		for step := 0; step < 60_000; step++ {
			id := ids[rng.Intn(keys)]
			e, had := m[id]
			switch op := rng.Intn(10); {
			case op < 4:
				exp := int64(rng.Intn(50))
				slot, added := x.add(id, holdSlot{take: 1, user: 7, quantity: 2, expiresAt: exp}, true)
				if added == had {
					t.Fatalf("seed %d step %d: add(%s) = %v with the id live %v", seed, step, id, added, had)
				}
				if added {
					m[id] = entry{slot, exp}
				}
			case op < 6 && had:
				x.remove(e.slot)
				delete(m, id)
			case op < 7 && had:
				e.exp = int64(rng.Intn(50))
				x.at(e.slot).expiresAt = e.exp
				x.reset(e.slot)
				m[id] = e
			default:
				slot, ok := x.get(id)
				if ok != had || (ok && (slot != e.slot || x.id(slot) != id || x.at(slot).expiresAt != e.exp)) {
					t.Fatalf("seed %d step %d: get(%s) = %d %v, want %+v %v", seed, step, id, slot, ok, e, had)
				}
			}
			check(step)
		}
		var want []string
		for id := range m {
			want = append(want, id)
		}
		slices.SortFunc(want, func(a, b string) int {
			if m[a].exp != m[b].exp {
				return int(m[a].exp - m[b].exp)
			}
			if a < b {
				return -1
			}
			return 1
		})
		var got []string
		compacted, big := false, x.slab.n >= 1<<pageBits
		for slot, ok := x.first(); ok; slot, ok = x.first() {
			got = append(got, x.id(slot))
			pages := len(x.slab.pages)
			x.remove(slot)
			if x.len() > 0 && len(x.slab.pages) < pages {
				compacted = true
				for _, id := range want[len(got):] { // every hold still found under its id, at its slot
					if s, ok := x.get(id); !ok || x.id(s) != id || x.at(s).expiresAt != m[id].exp || x.timers[x.at(s).heapIdx] != s {
						t.Fatalf("seed %d: after compaction, %s is at %d %v", seed, id, s, ok)
					}
				}
			}
		}
		if big && !compacted {
			t.Fatalf("seed %d: %d holds drained, never compacted", seed, len(got))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: timers give %d holds %v..., want %v...", seed, len(got), got[:min(5, len(got))], want[:min(5, len(want))])
		}
		if x.len() != 0 || len(x.slab.pages) != 0 || x.index.slotCount() != 0 {
			t.Fatalf("seed %d: emptied table keeps %d holds, %d pages, %d index slots", seed, x.len(), len(x.slab.pages), x.index.slotCount())
		}
	}
}

// TestUserTableMatchesMap: tallies add as a map's += does (a zero add makes
// a tally), take drops a tally at zero, and an entry named by live holds
// stays while they live.
func TestUserTableMatchesMap(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	x, m := newUserTable(0), map[string]int{}
	holds := map[string][]userHold{}
	for step := 0; step < 40_000; step++ {
		u := "u" + strconv.Itoa(rng.Intn(200))
		d := rng.Intn(3)
		switch rng.Intn(5) {
		case 0:
			if got := x.add(u, d); got != m[u]+d {
				t.Fatalf("seed %d step %d: add(%s, %d) = %d, want %d", seed, step, u, d, got, m[u]+d)
			}
			m[u] += d
		case 1:
			if d > m[u]-sumOf(holds[u]) {
				d = m[u] - sumOf(holds[u])
			}
			if _, ok := m[u]; !ok {
				continue
			}
			x.take(u, d)
			if m[u] -= d; m[u] == 0 && len(holds[u]) == 0 {
				delete(m, u)
			}
		case 2:
			d++
			num := x.addHold(u, d)
			holds[u] = append(holds[u], userHold{num, d})
			m[u] += d
		case 3:
			if len(holds[u]) == 0 {
				continue
			}
			h := holds[u][0]
			holds[u] = holds[u][1:]
			if x.name(h.num) != u {
				t.Fatalf("seed %d step %d: hold of %s names %q", seed, step, u, x.name(h.num))
			}
			x.takeNum(h.num, h.d, true)
			if m[u] -= h.d; m[u] == 0 && len(holds[u]) == 0 {
				delete(m, u)
			}
		default:
			if x.of(u) != m[u] {
				t.Fatalf("seed %d step %d: of(%s) = %d, want %d", seed, step, u, x.of(u), m[u])
			}
		}
		if x.len() != len(m) {
			t.Fatalf("seed %d step %d: %d tallies, want %d", seed, step, x.len(), len(m))
		}
	}
	if got := x.asMap(); !reflect.DeepEqual(got, m) {
		t.Fatalf("seed %d: asMap %v, want %v", seed, got, m)
	}
}

// userHold is a live hold of d seats naming user num.
type userHold struct {
	num uint32
	d   int
}

func sumOf(l []userHold) int {
	n := 0
	for _, h := range l {
		n += h.d
	}
	return n
}

// TestSlabCompaction: a show fills with 12,000 holds (canonical ids, ids
// of other forms, fresh and repeated users), then most are released: the
// slabs of holds and of users compact, and every hold left keeps its id,
// user and expiry, the invariants hold, and the state rows restore to the
// same state.
func TestSlabCompaction(t *testing.T) {
	if invariantsBuild {
		t.Skip("12,000 holds with a full check after every command; it checks once at the end without -tags invariants")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "slab", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "ga", Tier: "std", Capacity: 100_000}, {ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 1000}, {ID: "2", Seats: 1000}}}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	type held struct{ id, user string }
	var holds []held
	for i := 0; i < 12_000; i++ {
		h := held{id: "slab~" + randomToken(rng), user: "u" + strconv.Itoa(i)}
		switch {
		case i%7 == 0:
			h.id = "slab~4~" + strconv.Itoa(i) // round 1's form
		case i%5 == 0:
			h.user = "shared" + strconv.Itoa(i%3)
		}
		c := Command{Kind: KindHold, HoldID: h.id, User: h.user, Section: "ga", Quantity: 1, Now: int64(1 + i)}
		if i%10 == 3 {
			c.Section = "a"
		}
		if r := s.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
		holds = append(holds, h)
	}
	s.Ready()
	pages, upages := len(s.holds.slab.pages), len(s.users.slab.pages)
	rng.Shuffle(len(holds), func(i, j int) { holds[i], holds[j] = holds[j], holds[i] })
	keep := holds[:500]
	for _, h := range holds[500:] {
		if r := s.Apply(Command{Kind: KindRelease, HoldID: h.id, User: h.user, Now: 20_000}); r.Err != nil {
			t.Fatalf("release %s: %v", h.id, r.Err)
		}
	}
	if len(s.holds.slab.pages) >= pages || len(s.users.slab.pages) >= upages {
		t.Fatalf("seed %d: pages of holds %d -> %d, of users %d -> %d: not compacted", seed, pages, len(s.holds.slab.pages), upages, len(s.users.slab.pages))
	}
	for _, h := range keep {
		r := s.Apply(Command{Kind: KindGetHold, HoldID: h.id, User: h.user, Now: 20_000})
		if r.Err != nil || r.Hold.ID != h.id || r.Hold.User != h.user {
			t.Fatalf("seed %d: hold %s of %s: %+v %v", seed, h.id, h.user, r.Hold, r.Err)
		}
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	s.Ready()
	r := NewRestorer()
	for _, row := range s.Rows() {
		if err := r.Add(row.Key, row.Value); err != nil {
			t.Fatal(err)
		}
	}
	back, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := Fingerprint(s), Fingerprint(back); a != b {
		t.Fatalf("seed %d: restored %s, want %s", seed, b, a)
	}
	// the rest expire in (expiry, id) order, all of them
	s.Apply(Command{Kind: KindTick, Now: 1 << 40})
	if s.ActiveHolds() != 0 || s.users.len() != 0 || len(s.holds.slab.pages) != 0 {
		t.Fatalf("seed %d: %d holds, %d users, %d pages left", seed, s.ActiveHolds(), s.users.len(), len(s.holds.slab.pages))
	}
}

// TestIndexGrowsInParts: an index grows one part at a time, so no insert
// rehashes more than a small share of the entries on the actor's turn (one
// table's doubling at 786,432 live holds rehashed them all: the fill's
// slowest holds, ~0.1-0.2 s).
func TestIndexGrowsInParts(t *testing.T) {
	u := newUserTable(0)
	const users = 300_000
	before := 0
	for i := 0; i < users; i++ {
		u.add("user-"+strconv.Itoa(i), 1)
		after := u.index.slotCount()
		if grown := after - before; before >= 1<<14 && grown > before/16 {
			t.Fatalf("insert %d grew the index from %d to %d slots at once (more than 1/16)", i, before, after)
		}
		before = after
	}
	if u.len() != users {
		t.Fatalf("%d users indexed, want %d", u.len(), users)
	}
	for i := 0; i < users; i += 997 {
		if got := u.of("user-" + strconv.Itoa(i)); got != 1 {
			t.Fatalf("user-%d has %d seats, want 1", i, got)
		}
	}
}

// parseTokenLoop is parseToken as it was: one 128-bit shift a character
// (the reference TestParseTokenAsLoop holds the faster one to).
func parseTokenLoop(t string) (idKey, bool) {
	if len(t) != idTokenLen {
		return idKey{}, false
	}
	var k idKey
	for i := 0; i < idTokenLen-1; i++ {
		r := idRank[t[i]]
		if r == 0 {
			return idKey{}, false
		}
		k.hi, k.lo = k.hi<<5|k.lo>>59, k.lo<<5|uint64(r-1)
	}
	r := lastRank[t[idTokenLen-1]]
	if r == 0 {
		return idKey{}, false
	}
	k.hi, k.lo = k.hi<<3|k.lo>>61, k.lo<<3|uint64(r-1)
	return k, true
}

// TestParseTokenAsLoop: parseToken agrees with parseTokenLoop on random
// tokens, and on tokens with one character changed to any byte.
func TestParseTokenAsLoop(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < 5_000; i++ {
		tok := []byte(randomToken(rng))
		if i%2 == 1 {
			tok[rng.Intn(len(tok))] = byte(rng.Intn(256))
		}
		k, ok := parseToken(string(tok))
		wk, wok := parseTokenLoop(string(tok))
		if k != wk || ok != wok {
			t.Fatalf("seed %d: %q: %v %v, the loop %v %v", seed, tok, k, ok, wk, wok)
		}
	}
}

// BenchmarkParseToken: a token parsed (a recovery parses one a live hold).
func BenchmarkParseToken(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	toks := make([]string, 1024)
	for i := range toks {
		toks[i] = randomToken(rng)
	}
	for _, c := range []struct {
		name  string
		parse func(string) (idKey, bool)
	}{{"words", parseToken}, {"loop", parseTokenLoop}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, ok := c.parse(toks[i&1023]); !ok {
					b.Fatal("not parsed")
				}
			}
		})
	}
}

// BenchmarkIndexNewKeys: a new user's entry in a users' table of 2,000,000
// (an index larger than the caches), as a hold for a fresh user makes one:
// one probe of the index for a key it does not have, then the slot taken.
// A probe's tag and number sit side by side (indexSlot): one cache line.
func BenchmarkIndexNewKeys(b *testing.B) {
	const filled = 2_000_000
	u := newUserTable(filled + 1_000_000)
	for i := range filled {
		u.entry("f" + strconv.Itoa(i))
	}
	names := make([]string, b.N)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i)
	}
	b.ResetTimer()
	for _, name := range names {
		u.entry(name)
	}
	b.StopTimer()
	if got := u.index.n; got != filled+b.N {
		b.Fatalf("%d entries, want %d", got, filled+b.N)
	}
}
