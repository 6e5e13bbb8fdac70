package edge

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// reader is a strict parser for the flat JSON bodies of the hot API routes
// (hold, extend, order, pay). It accepts exactly RFC 8259 JSON, one object
// with no trailing data, and is stricter than encoding/json where that helps
// the contract: keys match exactly (no case folding, no escapes), a key may
// appear once, and integers must be integer literals. Values read as strings
// are copies, never views of the request buffer. A null value counts as
// absent.
type reader struct {
	b   []byte
	i   int
	err string // the first error; parsing stops at it
}

// fail records msg as the error unless one is recorded already, and returns false.
func (r *reader) fail(msg string) bool {
	if r.err == "" {
		r.err = msg
	}
	return false
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// object parses the body's one object. Its keys must be among keys (at most
// 64), each at most once; for each it calls field with the key's index, and
// field must consume the value and return false on error. Trailing data
// fails.
func (r *reader) object(keys []string, field func(i int) bool) bool {
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return r.fail("body must be a JSON object")
	}
	r.i++
	var seen uint64
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return r.end()
	}
	for {
		r.ws()
		key, ok := r.rawKey()
		if !ok {
			return false
		}
		i := indexKey(keys, key)
		if i < 0 {
			return r.unknown(key)
		}
		if seen&(1<<i) != 0 {
			return r.fail("duplicate field " + strconv.Quote(keys[i]))
		}
		seen |= 1 << i
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return r.fail("malformed JSON: expected ':'")
		}
		r.i++
		r.ws()
		if !field(i) {
			return r.fail("malformed JSON")
		}
		r.ws()
		if r.i >= len(r.b) {
			return r.fail("malformed JSON: unterminated object")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case '}':
			r.i++
			return r.end()
		default:
			return r.fail("malformed JSON: expected ',' or '}'")
		}
	}
}

// indexKey returns the index of key in keys, or -1.
func indexKey(keys []string, key []byte) int {
	for i, k := range keys {
		if k == string(key) {
			return i
		}
	}
	return -1
}

// end checks that only whitespace follows.
func (r *reader) end() bool {
	r.ws()
	if r.i != len(r.b) {
		return r.fail("malformed JSON: data after the object")
	}
	return true
}

// rawKey reads a key; keys of the API need no escapes, so one with an
// escape or a control character is refused.
func (r *reader) rawKey() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, r.fail("malformed JSON: expected a field name")
	}
	start := r.i + 1
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			return r.b[start:j], true
		case c == '\\' || c < 0x20:
			return nil, r.fail("malformed or unknown field name")
		}
	}
	return nil, r.fail("malformed JSON: unterminated string")
}

// null consumes a null literal if one is next.
func (r *reader) null() bool {
	if len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "null" {
		r.i += 4
		return true
	}
	return false
}

// str reads a string value (a copy). null reads as "" with given=false.
func (r *reader) str(name string) (s string, given, ok bool) {
	if r.null() {
		return "", false, true
	}
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return "", false, r.fail(name + " must be a string")
	}
	s, ok = r.stringLit()
	return s, ok, ok
}

// stringLit reads a JSON string literal at r.i.
func (r *reader) stringLit() (string, bool) {
	start := r.i + 1
	j := start
	for ; j < len(r.b); j++ {
		c := r.b[j]
		if c == '"' {
			raw := r.b[start:j]
			if !utf8.Valid(raw) {
				return "", r.fail("strings must be valid UTF-8")
			}
			r.i = j + 1
			return string(raw), true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", r.fail("malformed JSON: control character in a string")
		}
	}
	// Slow path: escapes.
	out := append([]byte(nil), r.b[start:j]...)
	for j < len(r.b) {
		c := r.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", r.fail("strings must be valid UTF-8")
			}
			r.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", r.fail("malformed JSON: control character in a string")
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			break
		}
		e := r.b[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r1, ok := hex4(r.b[j:])
			if !ok {
				return "", r.fail("malformed JSON: bad \\u escape")
			}
			j += 4
			if utf16.IsSurrogate(r1) {
				r2, ok := rune(0), false
				if len(r.b)-j >= 6 && r.b[j] == '\\' && r.b[j+1] == 'u' {
					r2, ok = hex4(r.b[j+2:])
				}
				if dec := utf16.DecodeRune(r1, r2); ok && dec != utf8.RuneError {
					r1 = dec
					j += 6
				} else {
					r1 = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r1)
		default:
			return "", r.fail("malformed JSON: bad escape")
		}
	}
	return "", r.fail("malformed JSON: unterminated string")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// int reads an integer literal (no fraction, no exponent) of at most 15
// digits. null reads as 0 with given=false.
func (r *reader) int(name string) (n int64, given, ok bool) {
	if r.null() {
		return 0, false, true
	}
	start := r.i
	j := r.i
	if j < len(r.b) && r.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		j++
	}
	nd := j - digits
	if nd == 0 {
		return 0, false, r.fail(name + " must be an integer")
	}
	if nd > 1 && r.b[digits] == '0' {
		return 0, false, r.fail("malformed JSON: leading zero")
	}
	if j < len(r.b) && (r.b[j] == '.' || r.b[j] == 'e' || r.b[j] == 'E') {
		return 0, false, r.fail(name + " must be an integer")
	}
	if nd > 15 {
		return 0, false, r.fail(name + " is out of range")
	}
	n, err := strconv.ParseInt(string(r.b[start:j]), 10, 64)
	if err != nil {
		return 0, false, r.fail(name + " must be an integer")
	}
	r.i = j
	return n, true, true
}

// strs reads an array of at most max strings. null reads as nil with given=false.
func (r *reader) strs(name string, max int) (a []string, given, ok bool) {
	if r.null() {
		return nil, false, true
	}
	if r.i >= len(r.b) || r.b[r.i] != '[' {
		return nil, false, r.fail(name + " must be an array of strings")
	}
	r.i++
	r.ws()
	a = []string{}
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return a, true, true
	}
	for {
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return nil, false, r.fail(name + " must be an array of strings")
		}
		s, ok := r.stringLit()
		if !ok {
			return nil, false, false
		}
		if len(a) == max {
			return nil, false, r.fail(name + ": too many entries (at most " + strconv.Itoa(max) + ")")
		}
		a = append(a, s)
		r.ws()
		if r.i >= len(r.b) {
			return nil, false, r.fail("malformed JSON: unterminated array")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case ']':
			r.i++
			return a, true, true
		default:
			return nil, false, r.fail("malformed JSON: expected ',' or ']'")
		}
	}
}

// unknown fails on a field the body does not have.
func (r *reader) unknown(key []byte) bool {
	if len(key) > 64 {
		key = key[:64]
	}
	return r.fail("unknown field " + strconv.Quote(string(key)))
}
