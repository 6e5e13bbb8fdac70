package seatmap

// fenwick is a Fenwick (binary indexed) tree over positions 1..n that grows
// at the end: O(log n) point updates and prefix sums, for the waitlist's
// positions. f[0] is unused.
type fenwick []int

// push appends position len+1 with value v.
func (f *fenwick) push(v int) {
	if len(*f) == 0 {
		*f = append(*f, 0)
	}
	i := len(*f)
	low := i & -i
	// f[i] covers (i-low, i]: v plus the values of positions i-low+1 .. i-1
	*f = append(*f, v+f.prefix(i-1)-f.prefix(i-low))
}

// add adds d to position i.
func (f fenwick) add(i, d int) {
	for ; i < len(f); i += i & -i {
		f[i] += d
	}
}

// prefix is the sum of positions 1..i.
func (f fenwick) prefix(i int) int {
	if i >= len(f) {
		i = len(f) - 1
	}
	n := 0
	for ; i > 0; i -= i & -i {
		n += f[i]
	}
	return n
}
