package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// testShow is a stream whose windows the test closes by hand (the ticker's
// window is an hour).
func testShow() *Show {
	h := &Hub{Window: time.Hour, Ring: 8}
	s := h.Show("gala")
	s.Reset(10, []seatmap.SectionView{{ID: "s0", Capacity: 4, Available: 4}})
	return s
}

func ev(seq uint64, cause string, seat, state string, avail int) seatmap.InventoryEvent {
	return seatmap.InventoryEvent{Show: "gala", Seq: seq, Cause: cause, Changes: []seatmap.SeatChange{{Seat: seat, State: state}},
		Sections: []seatmap.SectionView{{ID: "s0", Capacity: 4, Available: avail, Held: 4 - avail}}, Available: avail}
}

// frames parses SSE text into (id, Merged) pairs.
func frames(t *testing.T, b []byte) (ids []string, ms []Merged) {
	t.Helper()
	for _, block := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		if block == "" {
			continue
		}
		var id, data string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "event: inventory":
			default:
				t.Fatalf("unexpected line %q", line)
			}
		}
		var m Merged
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		ids, ms = append(ids, id), append(ms, m)
	}
	return ids, ms
}

func TestWindowMergesAndShares(t *testing.T) {
	s := testShow()
	leave := s.Subscribe()
	defer leave()
	s.Publish([]seatmap.InventoryEvent{ev(11, "hold", "a", "held", 3), ev(12, "release", "a", "available", 4)})
	s.Publish([]seatmap.InventoryEvent{ev(14, "hold", "b", "held", 3)})
	if out, _, ok, _ := s.Next(10, false, nil); !ok || len(out) != 0 {
		t.Fatalf("open window: %q %v", out, ok)
	}
	s.closeWindow()
	for _, cursor := range []uint64{10, 11, 12} { // anywhere in the window: the same frame
		out, next, ok, _ := s.Next(cursor, false, nil)
		ids, ms := frames(t, out)
		if !ok || next != 14 || len(ms) != 1 || ids[0] != "14" {
			t.Fatalf("cursor %d: %q next %d ok %v", cursor, out, next, ok)
		}
		m := ms[0]
		if m.After != 10 || m.Seq != 14 || m.Events != 3 || m.Cause != "merged" || m.Available != 3 ||
			fmt.Sprint(m.Changes) != "[{a available} {b held}]" || len(m.Sections) != 1 || m.Sections[0].Available != 3 {
			t.Fatalf("cursor %d: merged %+v", cursor, m)
		}
	}
	a, _, _, _ := s.Next(10, false, nil)
	b, _, _, _ := s.Next(11, false, nil)
	if &a[0] == &b[0] || !bytes.Equal(a, b) {
		t.Fatal("readers must get equal bytes in their own buffers")
	}
	// at the window's edge: nothing until the next window closes
	out, _, ok, wake := s.Next(14, false, nil)
	if !ok || len(out) != 0 {
		t.Fatalf("at the edge: %q %v", out, ok)
	}
	s.Publish([]seatmap.InventoryEvent{ev(15, "hold", "c", "held", 2)})
	select {
	case <-wake:
		t.Fatal("a publish must not wake readers")
	default:
	}
	s.closeWindow()
	select {
	case <-wake:
	default:
		t.Fatal("closing a window must wake readers")
	}
	out, next, ok, _ := s.Next(14, false, nil)
	if _, ms := frames(t, out); !ok || next != 15 || len(ms) != 1 || ms[0].Cause != "hold" || ms[0].After != 14 {
		t.Fatalf("next window: %q", out)
	}
	// a window without events is not closed: readers are not woken
	_, _, _, wake = s.Next(15, false, nil)
	s.closeWindow()
	select {
	case <-wake:
		t.Fatal("an empty window woke readers")
	default:
	}
}

func TestSlowReaderDroppedResumeCatchesUp(t *testing.T) {
	s := testShow()
	leave := s.Subscribe()
	defer leave()
	seq := uint64(10)
	for i := 0; i < windowsKept+1; i++ {
		seq++
		s.Publish([]seatmap.InventoryEvent{ev(seq, "hold", fmt.Sprint("x", i), "held", 3)})
		s.closeWindow()
	}
	// a streaming reader at 10 is further behind than the kept windows
	if _, _, ok, _ := s.Next(10, false, nil); ok {
		t.Fatal("a reader behind every kept window must be dropped")
	}
	// a resume from an id still in the ring (8 events) gets those events, one frame each
	out, next, ok, _ := s.Next(seq-3, true, nil)
	ids, ms := frames(t, out)
	if !ok || next != seq || len(ms) != 3 || ids[0] != fmt.Sprint(seq-2) || ms[0].After != seq-3 || ms[2].After != seq-1 {
		t.Fatalf("resume in the ring: %v %+v ok %v", ids, ms, ok)
	}
	// ... but a resume from before the ring needs a snapshot, as does an id from the future
	if _, _, ok, _ := s.Next(10, true, nil); ok {
		t.Fatal("a resume older than the ring and the windows must need a snapshot")
	}
	// a resume inside the kept windows takes their frames
	if out, next, ok, _ := s.Next(seq-20, true, nil); !ok || next != seq || len(out) == 0 {
		t.Fatalf("resume in the windows: ok %v next %d", ok, next)
	} else if _, ms := frames(t, out); len(ms) != 20 || ms[0].After != seq-20 {
		t.Fatalf("resume in the windows: %d frames, first after %d", len(ms), ms[0].After)
	}
	if _, _, ok, _ := s.Next(seq+1, true, nil); ok {
		t.Fatal("an id from the future must need a snapshot")
	}
}

func TestSnapshotSharedPerWindow(t *testing.T) {
	s := testShow()
	leave := s.Subscribe()
	defer leave()
	s.Publish([]seatmap.InventoryEvent{ev(11, "hold", "a", "held", 3)})
	var builds atomic.Int32
	build := func(seq uint64, secs []seatmap.SectionView, avail int) ([]byte, error) {
		builds.Add(1)
		time.Sleep(10 * time.Millisecond) // readers arriving meanwhile wait for this one
		return []byte(fmt.Sprint(seq, avail)), nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if seq, data, err := s.Snapshot(build); err != nil || seq != 11 || string(data) != "11 3" {
				t.Errorf("snapshot %d %q %v", seq, data, err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds for one window, want 1", n)
	}
	s.Publish([]seatmap.InventoryEvent{ev(12, "hold", "b", "held", 2)})
	s.Snapshot(build) // still the open window's snapshot (its seq 11 is in the window)
	s.closeWindow()
	if seq, _, _ := s.Snapshot(build); seq != 12 || builds.Load() != 2 {
		t.Fatalf("after a window closed: seq %d, %d builds", seq, builds.Load())
	}
}

func TestNoReadersNoWindows(t *testing.T) {
	s := testShow()
	s.Publish([]seatmap.InventoryEvent{ev(11, "hold", "a", "held", 3)})
	if s.open != nil || s.ticking {
		t.Fatal("a show without readers must not merge")
	}
	leave := s.Subscribe()
	leave()
	leave() // idempotent
	s.Publish([]seatmap.InventoryEvent{ev(12, "hold", "b", "held", 2)})
	if s.closeWindow() {
		t.Fatal("the ticker must stop once the last reader left")
	}
	if s.ticking || s.open != nil || s.readers != 0 || s.view.Load().ticking {
		t.Fatal("windows must be dropped with the last reader")
	}
	if seq, secs, avail := s.State(); seq != 12 || avail != 2 || secs[0].Held != 2 {
		t.Fatalf("state %d %v %d", seq, secs, avail)
	}
}

// BenchmarkPublish is the writer's cost per event with no reader and with
// readers (merging into the open window).
func BenchmarkPublish(b *testing.B) {
	for _, readers := range []int{0, 1} {
		b.Run(fmt.Sprint("readers=", readers), func(b *testing.B) {
			s := testShow()
			if readers > 0 {
				defer s.Subscribe()()
			}
			evs := []seatmap.InventoryEvent{ev(0, "hold", "a", "held", 3)}
			for i := 0; i < b.N; i++ {
				evs[0].Seq = uint64(11 + i)
				evs[0].Changes[0].Seat = fmt.Sprint("s0-1-", i%64)
				s.Publish(evs)
				if i%1000 == 999 && readers > 0 {
					s.closeWindow()
				}
			}
		})
	}
}
