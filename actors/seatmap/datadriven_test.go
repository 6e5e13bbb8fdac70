package seatmap

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/facts"
	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scenario files in testdata. Commands:
//
//	create [shard=N]           <show config JSON as input>
//	hold id=H user=U [seats=a,b] [section=S] [tier=T] [qty=N] [key=K hash=X] [t=MS]
//	release id=H [t=MS] | extend id=H secs=N [t=MS] | tick t=MS
//	order id=O hold=H [key=K hash=X] [t=MS] | pay id=O att=A [token=T] | payresult id=O att=A ev=E ok=true|false
//	cancel id=O | notified id=O ev=E ch=C | getorder id=O | gethold id=H
//	[user=U] on any command but hold: the caller (Command.User), whose holds and orders alone it may touch
//	show                        section counters
//	rows section=S              one line per row: . available, H held, R reserved, S sold
//	ready                       records, events and archived orders taken from Ready, and the deadline
//	size                        the shard's maps (Shard.Size)
//	replay                      rebuild a shard from every record so far, and from a snapshot; compare
//	join ticket=T user=U        join the waiting room (KindQueueJoin); hold ... ticket=T holds with T's pass
//	ticket ticket=T [user=U]    a ticket's view (KindQueueGet)
//	room                        the waiting room: counters, line, tickets
//	wl-join id=E user=U qty=N [together=true] [section=S|tier=T] | wl-get id=E | wl-leave id=E
//	waitlist                    the waitlist's entries
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt") // testdata/fuzz holds the fuzzers' corpora
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) { scenario(t, path) })
	}
}

func scenario(t *testing.T, path string) {
	{
		var s *Shard
		var journal []Record
		var now int64
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if s == nil {
				shard := 0
				if d.HasArg("shard") {
					d.ScanArgs(t, "shard", &shard)
				}
				s = New(shard)
			}
			if d.HasArg("t") {
				var ts int
				d.ScanArgs(t, "t", &ts)
				now = int64(ts)
			}
			arg := func(k string) string {
				if !d.HasArg(k) {
					return ""
				}
				var v string
				d.ScanArgs(t, k, &v)
				return v
			}
			argInt := func(k string) int {
				n, _ := strconv.Atoi(arg(k))
				return n
			}
			c := Command{Now: now}
			switch d.Cmd {
			case "create":
				var cfg ShowConfig
				if err := json.Unmarshal([]byte(d.Input), &cfg); err != nil {
					d.Fatalf(t, "bad config: %v", err)
				}
				c.Kind, c.Show = KindCreate, &cfg
			case "hold":
				c.Kind, c.HoldID, c.User, c.Section, c.Tier, c.Quantity = KindHold, arg("id"), arg("user"), arg("section"), arg("tier"), argInt("qty")
				c.IdemKey, c.IdemHash, c.Ticket = arg("key"), arg("hash"), arg("ticket")
				if v := arg("seats"); v != "" {
					c.Seats = strings.Split(v, ",")
				}
			case "release":
				c.Kind, c.HoldID = KindRelease, arg("id")
			case "extend":
				c.Kind, c.HoldID, c.Seconds = KindExtend, arg("id"), argInt("secs")
			case "tick":
				c.Kind = KindTick
			case "order":
				c.Kind, c.OrderID, c.HoldID, c.IdemKey, c.IdemHash = KindOrder, arg("id"), arg("hold"), arg("key"), arg("hash")
			case "pay":
				c.Kind, c.OrderID, c.Token, c.Attempt = KindPay, arg("id"), arg("token"), arg("att")
			case "payresult":
				c.Kind, c.OrderID, c.EventID, c.Success, c.Attempt = KindPayResult, arg("id"), arg("ev"), arg("ok") == "true", arg("att")
			case "cancel":
				c.Kind, c.OrderID = KindCancel, arg("id")
			case "notified":
				c.Kind, c.OrderID, c.EventID, c.Channel = KindNotified, arg("id"), arg("ev"), arg("ch")
			case "getorder":
				c.Kind, c.OrderID = KindGetOrder, arg("id")
			case "gethold":
				c.Kind, c.HoldID = KindGetHold, arg("id")
			case "join":
				c.Kind, c.Ticket, c.User = KindQueueJoin, arg("ticket"), arg("user")
			case "ticket":
				c.Kind, c.Ticket = KindQueueGet, arg("ticket")
			case "wl-join":
				c.Kind, c.Entry, c.User, c.Quantity, c.Together = KindWaitlistJoin, arg("id"), arg("user"), argInt("qty"), arg("together") == "true"
				c.Section, c.Tier = arg("section"), arg("tier")
			case "wl-get":
				c.Kind, c.Entry = KindWaitlistGet, arg("id")
			case "wl-leave":
				c.Kind, c.Entry = KindWaitlistLeave, arg("id")
			case "room":
				return roomPicture(s)
			case "waitlist":
				return waitlistPicture(s)
			case "show":
				return showCounters(s)
			case "rows":
				return rowPicture(s, arg("section"))
			case "ready":
				return formatReady(s.Ready())
			case "size":
				return fmt.Sprintf("%+v\n", s.Size())
			case "replay":
				return checkReplay(t, s, journal)
			case "restore": // go on from a snapshot of the state (a restart)
				r := snapshotRestore(t, s)
				if Fingerprint(r) != Fingerprint(s) {
					t.Fatalf("restored state differs:\n got %s\nwant %s", Fingerprint(r), Fingerprint(s))
				}
				s = r
				return "restored: same state\n"
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			if c.Kind != KindHold && c.Kind != KindQueueJoin && c.Kind != KindWaitlistJoin && d.HasArg("user") {
				c.User = arg("user") // the caller, for the ownership checks
			}
			res := s.Apply(c)
			if err := s.CheckInvariants(); err != nil {
				d.Fatalf(t, "invariant: %v", err)
			}
			// keep the records for replay, without taking them from Ready
			for _, rec := range s.ready.Records {
				if len(journal) == 0 || rec.Seq > journal[len(journal)-1].Seq {
					journal = append(journal, rec)
				}
			}
			return formatResult(res)
		})
	}
}

func formatResult(r Result) string {
	var b strings.Builder
	if r.Err != nil {
		fmt.Fprintf(&b, "error %s", ErrorCode(r.Err))
		if seats := TakenSeats(r.Err); len(seats) > 0 {
			fmt.Fprintf(&b, " %v", seats)
		}
		if m := ErrorMessage(r.Err); m != ErrorCode(r.Err) {
			fmt.Fprintf(&b, ": %s", m)
		}
		return b.String() + "\n"
	}
	if r.Hold != nil {
		h := r.Hold
		fmt.Fprintf(&b, "hold %s user=%s seats=%v general=%s qty=%d amount=%d expires=%d", h.ID, h.User, h.Seats,
			fmtMap(h.General), h.Quantity, h.Amount, h.ExpiresAt)
		if h.OrderID != "" {
			fmt.Fprintf(&b, " order=%s", h.OrderID)
		}
	} else if r.Order != nil {
		o := r.Order
		fmt.Fprintf(&b, "order %s hold=%s user=%s seats=%v general=%s qty=%d amount=%d status=%s due=%d history=",
			o.ID, o.HoldID, o.User, o.Seats, fmtMap(o.General), o.Quantity, o.Amount, o.Status, o.PaymentDueAt)
		for i, h := range o.History {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s@%d", h.Status, h.At)
			if h.Detail != "" {
				fmt.Fprintf(&b, "(%s)", h.Detail)
			}
		}
		if o.Attempt != "" {
			fmt.Fprintf(&b, " attempt=%s", o.Attempt)
		}
	} else if r.Ticket != nil {
		b.WriteString(formatTicket(r.Ticket))
	} else if r.Entry != nil {
		b.WriteString(formatEntry(r.Entry))
	} else if r.ArchivedOrderID != "" {
		fmt.Fprintf(&b, "archived order %s", r.ArchivedOrderID)
	} else {
		b.WriteString("ok")
	}
	if r.Created {
		b.WriteString(" (created)")
	}
	return b.String() + "\n"
}

func fmtMap(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func showCounters(s *Shard) string {
	var b strings.Builder
	for _, sec := range s.sections {
		c := sec.counts
		fmt.Fprintf(&b, "%s cap=%d available=%d held=%d reserved=%d sold=%d\n", sec.id, sec.cap, c[0], c[1], c[2], c[3])
	}
	fmt.Fprintf(&b, "holds=%d orders=%d users=%s\n", s.activeHolds, len(s.orders), fmtMap(s.users.asMap()))
	return b.String()
}

func rowPicture(s *Shard, secID string) string {
	sec := s.secByID[secID]
	if sec == nil {
		return "no section\n"
	}
	var b strings.Builder
	for _, ri := range sec.order {
		r := sec.rows[ri]
		fmt.Fprintf(&b, "%-3s ", r.id)
		for i := 0; i < r.n; i++ {
			b.WriteByte(".HRS"[s.seats[r.base+uint32(i)]])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func formatReady(r Ready) string {
	var b strings.Builder
	for _, rec := range r.Records {
		fmt.Fprintf(&b, "record %d", rec.Seq)
		for i, f := range rec.Facts {
			sep := ","
			if i == 0 {
				sep = " "
			}
			fmt.Fprintf(&b, "%s%s", sep, f.Kind)
			var rr roomRec
			if f.Kind == facts.RoomDecided && json.Unmarshal(f.Config, &rr) == nil {
				fmt.Fprintf(&b, "(%s)", rr.Cmd.Kind)
			}
			if f.ID != "" {
				fmt.Fprintf(&b, "(%s)", f.ID)
			}
		}
		for _, f := range rec.Facts {
			var rr roomRec
			if f.Kind == facts.RoomDecided && json.Unmarshal(f.Config, &rr) == nil && rr.Cmd.Room != nil {
				b.WriteString(formatFacts(rr.Cmd.Room))
			}
		}
		b.WriteByte('\n')
	}
	for _, e := range r.Events {
		fmt.Fprintf(&b, "event %s %s order=%s amount=%d", e.ID, e.Type, e.OrderID, e.Amount)
		if e.Attempt != "" {
			fmt.Fprintf(&b, " attempt=%s", e.Attempt)
		}
		if e.Token != "" {
			fmt.Fprintf(&b, " token=%s", e.Token)
		}
		if e.Hold != "" {
			fmt.Fprintf(&b, " hold=%s user=%s seats=%v qty=%d expires=%d", e.Hold, e.User, e.Seats, e.Quantity, e.ExpiresAt)
		}
		b.WriteByte('\n')
	}
	for _, o := range r.Archive {
		fmt.Fprintf(&b, "archive %s status=%s hold=%s qty=%d history=%d\n", o.ID, o.Status, o.HoldID, o.Quantity, len(o.History))
	}
	fmt.Fprintf(&b, "deadline %d\n", r.Deadline)
	return b.String()
}

// snapshotRestore is a restart from a snapshot: s's state restored into a
// new shard.
func snapshotRestore(t *testing.T, s *Shard) *Shard {
	t.Helper()
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkReplay rebuilds the shard from its records, and from a snapshot, and
// compares both with the live shard.
func checkReplay(t *testing.T, s *Shard, journal []Record) string {
	r := New(s.shard)
	for _, rec := range journal {
		if err := r.Replay(rec); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	want := Fingerprint(s)
	if got := Fingerprint(r); got != want {
		t.Fatalf("replayed state differs:\n got %s\nwant %s", got, want)
	}
	if got := Fingerprint(snapshotRestore(t, s)); got != want {
		t.Fatalf("restored state differs:\n got %s\nwant %s", got, want)
	}
	return fmt.Sprintf("replayed %d records, seq %d: same state\n", len(journal), r.Seq())
}
