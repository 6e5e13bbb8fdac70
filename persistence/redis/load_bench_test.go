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

// BenchmarkRowsReadShapes: what reading a show's 1,000,000 state rows from
// Redis costs redis-server (its own CPU, from INFO) and the wall clock:
// LoadRows of the rows in their buckets (HGETALL, 4 at a time), LoadRows of
// the same rows in one hash (the layout before buckets: HSCAN in 4 parts at
// once), and one HSCAN cursor over that hash (bench/README.md, "Recovery
// from Redis alone, seventh round").
func BenchmarkRowsReadShapes(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: make bench-fill (FILL_BENCH=1)")
	}
	const n = 1_000_000
	_, c := openServer(b, func(o *Options) { o.ReadTimeout = 30 * time.Second })
	ctx := context.Background()
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Key: fmt.Sprintf("\x06big~%022d", i), Value: []byte(fmt.Sprintf("\x01\x0a\x08u%07d \x01(\x88'0\xd0\x96\xe6\xe5\xa6\x338\xd0\x96\xe6\xe5\xa6\x33", i))}
	}
	if err := c.Seed(ctx, Seed{Shard: "big", Epoch: activate(b, c, "big"), Seq: 1, Rows: rows}); err != nil {
		b.Fatal(err)
	}
	old, err := keysOf("old")
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Seed(ctx, Seed{Shard: "old", Epoch: activate(b, c, "old"), Seq: 1}); err != nil {
		b.Fatal(err)
	}
	p := c.rdb.Pipeline()
	p.Del(ctx, old.rows) // as a version before buckets stored it
	for i, r := range rows {
		p.HSet(ctx, old.rows, r.Key, r.Value)
		if i%10_000 == 9_999 || i == n-1 {
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	rows = nil
	cpu := func() float64 {
		m, err := c.rdb.InfoMap(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		u, _ := strconv.ParseFloat(m["CPU"]["used_cpu_user"], 64)
		s, _ := strconv.ParseFloat(m["CPU"]["used_cpu_sys"], 64)
		return u + s
	}
	loadRows := func(shard string) func() int {
		return func() int {
			got := 0
			if _, err := c.LoadRows(ctx, shard, nil, func(string, []byte) error { got++; return nil }); err != nil {
				b.Fatal(err)
			}
			return got
		}
	}
	shapes := []struct {
		name string
		read func() int
	}{
		{"LoadRows-buckets", loadRows("big")},
		{"LoadRows-one-hash", loadRows("old")},
		{"one-cursor", func() int {
			got, cursor := 0, uint64(0)
			for {
				kv, next, err := c.rdb.HScan(ctx, old.rows, cursor, "", rowsScanCount).Result()
				if err != nil {
					b.Fatal(err)
				}
				if got += len(kv) / 2; next == 0 {
					return got
				}
				cursor = next
			}
		}},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			var redisCPU float64
			for i := 0; i < b.N; i++ {
				c0 := cpu()
				if got := sh.read(); got != n {
					b.Fatalf("%d rows read, want %d", got, n)
				}
				redisCPU += cpu() - c0
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/read")
			b.ReportMetric(redisCPU/float64(b.N), "redis-cpu-s/read")
		})
	}
}
