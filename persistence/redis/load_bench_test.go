package redis

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkLoadRows: Load of a show of n state rows (LOAD_ROWS, default
// 1,000,000), about the size of a held seat's row.
func BenchmarkLoadRows(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("LOAD_ROWS")); err == nil {
		n = v
	}
	_, c := openServer(b, nil)
	ctx := context.Background()
	e := activate(b, c, "big")
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Key: fmt.Sprintf("\x06big~%022d", i), Value: []byte(fmt.Sprintf("\x01\x0a\x08u%07d \x01(\x88'0\xd0\x96\xe6\xe5\xa6\x338\xd0\x96\xe6\xe5\xa6\x33", i))}
	}
	t0 := time.Now()
	if err := c.Seed(ctx, Seed{Shard: "big", Epoch: e, Seq: 1, Rows: rows}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seed of %d rows: %s", n, time.Since(t0))
	rows = nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := c.Load(ctx, "big")
		if err != nil || len(st.Rows) != n {
			b.Fatal(err, len(st.Rows))
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
}
