package edge

import (
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// writer builds a JSON answer in a pooled buffer. Its methods append one
// value each; callers put the commas and keys.
type writer struct{ b []byte }

var writerPool = sync.Pool{New: func() any { return &writer{b: make([]byte, 0, 1024)} }}

func getWriter() *writer { return writerPool.Get().(*writer) }

// maxPooledBytes keeps huge answers (seat maps) from pinning memory in the pool.
const maxPooledBytes = 64 << 10

func putWriter(w *writer) {
	if cap(w.b) > maxPooledBytes {
		return
	}
	w.b = w.b[:0]
	writerPool.Put(w)
}

// send writes w as the JSON body with status, and recycles w.
func (s *Server) send(ctx *fasthttp.RequestCtx, status int, w *writer) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(w.b)
	putWriter(w)
}

var contentTypeJSON = []byte("application/json")

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

// key writes "k": (k must need no escaping).
func (w *writer) key(k string) {
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func (w *writer) str(s string) {
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

// strs writes a JSON array of strings; nil is [].
func (w *writer) strs(a []string) {
	w.b = append(w.b, '[')
	for i, s := range a {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(s)
	}
	w.b = append(w.b, ']')
}

// rfc3339Ms is the layout of API times: RFC 3339, UTC, milliseconds.
const rfc3339Ms = "2006-01-02T15:04:05.000Z07:00"

// timeMs writes a Unix ms instant as an RFC 3339 string in UTC with ms.
func (w *writer) timeMs(ms int64) {
	w.b = append(w.b, '"')
	w.b = appendTimeMs(w.b, ms)
	w.b = append(w.b, '"')
}

// appendTimeMs is time.AppendFormat(rfc3339Ms) for UTC, without parsing the
// layout on every call.
func appendTimeMs(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, rfc3339Ms)
	}
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':')
	msec := t.Nanosecond() / 1e6
	b = append(b, byte('0'+s/10), byte('0'+s%10), '.', byte('0'+msec/100), byte('0'+msec/10%10), byte('0'+msec%10), 'Z')
	return b
}

// general writes a section -> quantity object, keys sorted; nil is {}.
func (w *writer) general(m map[string]int) {
	w.b = append(w.b, '{')
	if len(m) == 1 {
		for k, v := range m {
			w.str(k)
			w.b = append(w.b, ':')
			w.int(int64(v))
		}
	} else if len(m) > 1 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(k)
			w.b = append(w.b, ':')
			w.int(int64(m[k]))
		}
	}
	w.b = append(w.b, '}')
}

// errorBody writes {"error":{"code","message"[,"seats"]}}.
func (w *writer) errorBody(code, msg string, seats []string, withSeats bool) {
	w.raw(`{"error":{"code":`)
	w.str(code)
	w.raw(`,"message":`)
	w.str(msg)
	if withSeats {
		w.raw(`,"seats":`)
		w.strs(seats)
	}
	w.raw(`}}`)
}

// hold writes a hold: exactly the fields of the API contract.
func (w *writer) hold(h *seatmap.HoldView) {
	w.raw(`{"id":`)
	w.str(h.ID)
	w.raw(`,"show":`)
	w.str(h.Show)
	w.raw(`,"user":`)
	w.str(h.User)
	w.raw(`,"seats":`)
	w.strs(h.Seats)
	w.raw(`,"general":`)
	w.general(h.General)
	w.raw(`,"quantity":`)
	w.int(int64(h.Quantity))
	w.raw(`,"amount":`)
	w.int(h.Amount)
	w.raw(`,"expires_at":`)
	w.timeMs(h.ExpiresAt)
	w.b = append(w.b, '}')
}

// order writes an order: exactly the fields of the API contract (history
// entries may carry a "detail", e.g. a notification channel).
func (w *writer) order(o *seatmap.OrderView) {
	w.raw(`{"id":`)
	w.str(o.ID)
	w.raw(`,"show":`)
	w.str(o.Show)
	w.raw(`,"user":`)
	w.str(o.User)
	w.raw(`,"seats":`)
	w.strs(o.Seats)
	w.raw(`,"general":`)
	w.general(o.General)
	w.raw(`,"quantity":`)
	w.int(int64(o.Quantity))
	w.raw(`,"amount":`)
	w.int(o.Amount)
	w.raw(`,"status":`)
	w.str(o.Status)
	w.raw(`,"payment_due_at":`)
	w.timeMs(o.PaymentDueAt)
	w.raw(`,"created_at":`)
	w.timeMs(o.CreatedAt)
	w.raw(`,"history":[`)
	for i := range o.History {
		h := &o.History[i]
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.raw(`{"status":`)
		w.str(h.Status)
		w.raw(`,"at":`)
		w.timeMs(h.At)
		if h.Detail != "" {
			w.raw(`,"detail":`)
			w.str(h.Detail)
		}
		w.b = append(w.b, '}')
	}
	w.raw(`]}`)
}

// show writes the show document.
func (w *writer) show(d *seatmap.ShowDoc) {
	c := &d.Config
	w.raw(`{"id":`)
	w.str(c.ID)
	w.raw(`,"name":`)
	w.str(c.Name)
	w.raw(`,"hold_ttl_seconds":`)
	w.int(int64(c.HoldTTLSeconds))
	w.raw(`,"payment_ttl_seconds":`)
	w.int(int64(c.PaymentTTLSeconds))
	w.raw(`,"max_seats_per_user":`)
	w.int(int64(c.MaxSeatsPerUser))
	w.raw(`,"tiers":[`)
	for i, t := range c.Tiers {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.raw(`{"id":`)
		w.str(t.ID)
		w.raw(`,"price":`)
		w.int(t.Price)
		w.b = append(w.b, '}')
	}
	w.raw(`],"sections":[`)
	for i := range d.Sections {
		s := &d.Sections[i]
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.raw(`{"id":`)
		w.str(s.ID)
		w.raw(`,"tier":`)
		w.str(s.Tier)
		w.counts(s.Capacity, s.Available, s.Held, s.Reserved, s.Sold)
		w.b = append(w.b, '}')
	}
	w.raw(`],"totals":{`)
	t := &d.Totals
	w.counts(t.Capacity, t.Available, t.Held, t.Reserved, t.Sold)
	w.b = append(w.b, '}')
	w.roomDoc(d)
	w.b = append(w.b, '}')
}

// counts writes the counters of a section or of the totals, starting with a
// comma unless it opens an object.
func (w *writer) counts(capacity, available, held, reserved, sold int) {
	if w.b[len(w.b)-1] != '{' {
		w.b = append(w.b, ',')
	}
	w.raw(`"capacity":`)
	w.int(int64(capacity))
	w.raw(`,"available":`)
	w.int(int64(available))
	w.raw(`,"held":`)
	w.int(int64(held))
	w.raw(`,"reserved":`)
	w.int(int64(reserved))
	w.raw(`,"sold":`)
	w.int(int64(sold))
}

// seats writes {"seats":{"id":"state",...}} in the backend's order.
func (w *writer) seats(list []seatmap.SeatEntry) {
	w.raw(`{"seats":{`)
	for i := range list {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(list[i].ID)
		w.b = append(w.b, ':', '"')
		w.raw(list[i].State.String())
		w.b = append(w.b, '"')
	}
	w.raw(`}}`)
}
