package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestDiskFull: --data lives on a 64 MiB tmpfs the test mounts. Clients hold
// specific seats and order them; in the middle the test fills the
// filesystem (a file written until ENOSPC, topped up every 100 ms) for 4 s,
// then deletes it, SIGKILLs the node and restarts it on the same --data.
//
// Why tmpfs and not a loop-mounted ext4: Pebble preallocates each WAL at
// 110% of the memtable (64 MiB here, so ≈70 MiB, fallocate KEEP_SIZE, errors
// ignored). ext4 keeps a partial fallocate, so on a small loop ext4 the first
// WAL write reserves the whole filesystem (measured: 000002.log took 54.7 of
// 56 MB at the first hold) and on a bigger one the 70 MiB reservation
// succeeds: either way the WAL never meets ENOSPC while the test runs and
// the fault is not exercised. tmpfs's fallocate is all-or-nothing, the
// 70 MiB reservation fails on 64 MiB, and every WAL append needs new pages:
// the journal's write path meets ENOSPC as soon as the filler fills the
// filesystem. (What tmpfs cannot do is fail an fsync: the test checks that
// nothing is acknowledged whose journal write failed, not the kernel's
// writeback error path.)
//
// Required: while the disk is full writes answer 503 (never a transport
// error or another 5xx); after the restart every acknowledged hold and order
// is there with its seats (holds converted by an acknowledged order name it),
// no seat is in two acknowledged orders, the counters add up, the node needs
// no manual step to serve again, and in particular nothing answered 201/200
// after the disk filled is missing.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a filesystem; ~20 s")
	}
	requireRoot(t)
	requireTools(t, "mount", "umount")
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)

	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt)
	t.Cleanup(func() { // registered first, so it runs after the servers are killed
		if out, err := runQuiet("umount", mnt); err != nil {
			t.Logf("umount %s: %v %s; lazy unmount", mnt, err, out)
			runQuiet("umount", "-l", mnt)
		}
	})
	data := filepath.Join(mnt, "data")
	s := startServerIn(t, "", freeAddr(t), data)
	const sections, rows, perRow = 3, 20, 100
	createShowSized(t, s.base, "disk", sections, rows, perRow)

	l := &ledger{}
	b := &booker{bases: []string{s.base}, shows: []string{"disk"}, seats: seatNames(sections, rows, perRow),
		perHold: 2, retry503: 1, pause: 5 * time.Millisecond, maxOps: 4000, l: l}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) { defer wg.Done(); b.run(ctx, g, seed+int64(g)) }(g)
	}

	time.Sleep(2 * time.Second)
	before := metrics(s.base)
	filler := filepath.Join(mnt, "filler")
	n, err := fillFS(filler)
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("filling %s: %v", mnt, err)
	}
	tFull := time.Now()
	t.Logf("filesystem full at %s (filler %d MiB); writes so far: %s", tFull.Format("15:04:05.000"), n>>20, summarize(writesOf(l.snapshot())))
	topped := int64(0)
	for time.Since(tFull) < 4*time.Second {
		time.Sleep(100 * time.Millisecond)
		m, err := fillFS(filler) // whatever the server freed meanwhile
		if err != nil {
			t.Errorf("topping up the filler: %v", err)
		}
		topped += m
	}
	during := metrics(s.base)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	tFree := time.Now()
	t.Logf("filler deleted at %s (+%.2fs; topped up %d KiB meanwhile); journal errors during the fill: %v",
		tFree.Format("15:04:05.000"), tFree.Sub(tFull).Seconds(), topped>>10,
		during["boxoffice_journal_errors_total"]-before["boxoffice_journal_errors_total"])
	// after the space returns: either the running node takes writes again,
	// or it says it cannot (exits, or /readyz stops answering 200) so that
	// its supervisor restarts it; a node that stays "ready" and answers 503
	// forever needs a manual restart
	var readyAfter int
	var compAfter map[string]string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		readyAfter, compAfter = readyComponents(s.base)
		if okAfter(l, tFree) || s.exited() || readyAfter != 200 {
			break
		}
	}
	cancel()
	wg.Wait()
	exited := s.exited()
	s.killHard()

	ops := l.snapshot()
	var full, after []op
	for _, o := range ops {
		if !o.write() {
			continue
		}
		switch {
		case o.End.After(tFull) && !o.Start.After(tFree):
			full = append(full, o)
		case o.Start.After(tFree):
			after = append(after, o)
		}
	}
	t.Logf("writes answered while the disk was full: %s", summarize(full))
	t.Logf("writes started after the filler was deleted (up to 5 s): %s", summarize(after))
	if exited {
		t.Errorf("the server exited by itself during the test (see its log)")
	}
	var ackedFull []op
	for _, o := range full {
		if o.success() {
			ackedFull = append(ackedFull, o)
		} else if o.Err != nil || (o.Code >= 500 && o.Code != 503) {
			t.Errorf("while the disk was full a %s answered %d %v at +%.3fs (want 503 unavailable)", o.Kind, o.Code, o.Err, o.End.Sub(tFull).Seconds())
		}
	}
	if len(ackedFull) > 0 {
		last := ackedFull[0].End
		for _, o := range ackedFull {
			if o.End.After(last) {
				last = o.End
			}
		}
		t.Logf("%d writes answered 201/200 after the disk filled, the last +%.3fs after", len(ackedFull), last.Sub(tFull).Seconds())
	}
	firstOK := time.Duration(-1)
	for _, o := range after {
		if o.success() && (firstOK < 0 || o.End.Sub(tFree) < firstOK) {
			firstOK = o.End.Sub(tFree)
		}
	}
	if firstOK >= 0 {
		t.Logf("the running node acknowledged writes again %v after the space was freed", firstOK.Round(time.Millisecond))
	} else {
		t.Logf("the running node acknowledged no write in the 5 s after the space was freed; /readyz %d %v", readyAfter, compAfter)
		if !exited && readyAfter == 200 {
			t.Errorf("5 s after the space was freed the node still refuses every write (%s) while /readyz answers 200 %v: it needs a manual restart",
				summarize(after), compAfter)
		}
	}

	// restart on the same data: no manual step
	s2 := startServerIn(t, "", freeAddr(t), data)
	holds, orders := l.acked()
	t.Logf("%d holds and %d orders acknowledged in all", len(holds), len(orders))
	if len(orders) == 0 {
		t.Fatal("no order acknowledged: the test proved nothing")
	}
	missingFull := 0
	for _, o := range ackedFull {
		url := s2.base + "/v1/orders/" + o.ID
		if o.Kind == "hold" {
			url = s2.base + "/v1/shows/" + o.Show + "/holds/" + o.ID
		}
		if code, err := getRetry(url, nil); err != nil || code != 200 {
			missingFull++
			t.Errorf("%s %s answered %d at +%.3fs after the disk filled is missing after the restart: %d %v",
				o.Kind, o.ID, o.Code, o.End.Sub(tFull).Seconds(), code, err)
		}
	}
	t.Logf("%d of the %d writes acknowledged after the disk filled are missing after the restart", missingFull, len(ackedFull))
	verifyAcked(t, "after restart", []string{s2.base}, l, []string{"disk"})

	// the restarted node takes writes
	createShowSized(t, s2.base, "after", 1, 1, 10)
	var h holdDoc
	if code, err := callC(fastClient, "POST", s2.base+"/v1/shows/after/holds", `{"user":"x","seats":["s0-1-1"]}`, &h); err != nil || code != 201 {
		t.Errorf("a hold on the restarted node: %d %v", code, err)
	} else if code, err := callC(fastClient, "POST", s2.base+"/v1/orders", fmt.Sprintf(`{"show":"after","hold":%q}`, h.ID), nil); err != nil || code != 201 {
		t.Errorf("an order on the restarted node: %d %v", code, err)
	}
	s2.killHard()
}

func writesOf(ops []op) []op {
	var out []op
	for _, o := range ops {
		if o.write() {
			out = append(out, o)
		}
	}
	return out
}

// okAfter: some write that started after t succeeded.
func okAfter(l *ledger, t time.Time) bool {
	for _, o := range l.snapshot() {
		if o.write() && o.Start.After(t) && o.success() {
			return true
		}
	}
	return false
}
