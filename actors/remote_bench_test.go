package actors

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// BenchmarkRedisOnOff measures holds/s and orders/s through a shard actor
// journaling to Pebble (synced), with Redis checkpoints off and on, in the
// same run: the ratio on/off is the cost of Redis.
func BenchmarkRedisOnOff(b *testing.B) {
	srv := redistest.StartServer(b)
	for _, op := range []string{"holds", "orders"} {
		for _, withRedis := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/redis=%v", op, withRedis), func(b *testing.B) {
				st, err := pebble.Open(pebble.Options{Dir: filepath.Join(b.TempDir(), "db")})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				env := &Env{Journal: NewPebbleJournal(st), Log: testEnv.Log}
				if withRedis {
					rc := openRedisB(b, srv.Addr())
					env.Remote = rc
				}
				show := uniq("onoff")
				pid := testNode.System.Root.Spawn(ShowProps(env, show))
				defer testNode.System.Root.Stop(pid)
				bk := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
				cfg := seatmap.ShowConfig{ID: show, Tiers: []seatmap.Tier{{ID: "std", Price: 100}},
					Sections: []seatmap.Section{{ID: "ga", Tier: "std", Capacity: 10_000_000}}}
				cfg.Normalize()
				ctx := context.Background()
				if _, err := bk.call(ctx, show, seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); err != nil {
					b.Fatal(err)
				}
				bk.shows.Store(show, &cfg)
				var n atomic.Int64
				b.SetParallelism(64)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						h, _, err := bk.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", n.Add(1)), Section: "ga", Quantity: 1})
						if err != nil {
							b.Error(err)
							return
						}
						if op == "orders" {
							if _, _, err := bk.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: h.ID}); err != nil {
								b.Error(err)
								return
							}
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), op+"/s")
			})
		}
	}
}
