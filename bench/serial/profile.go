package serial

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// cpuByLabel sums the CPU time of a pprof CPU profile (gzipped
// profile.proto) per value of the label key ("" for samples without it).
// It reads only what it needs: the string table, and per sample its values
// (count, nanoseconds) and string labels.
func cpuByLabel(gz []byte, key string) (map[string]time.Duration, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var strs []string
	var samples [][]byte
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		raw = raw[n:]
		if typ == protowire.BytesType && (num == 2 || num == 6) {
			v, m := protowire.ConsumeBytes(raw)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			if num == 2 {
				samples = append(samples, v)
			} else {
				strs = append(strs, string(v))
			}
			raw = raw[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, raw)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		raw = raw[m:]
	}
	out := map[string]time.Duration{}
	for _, s := range samples {
		ns, label, err := parseSample(s, strs, key)
		if err != nil {
			return nil, err
		}
		out[label] += time.Duration(ns)
	}
	return out, nil
}

var errProfile = errors.New("serial: malformed CPU profile")

// parseSample returns a Sample's CPU nanoseconds (its second value) and its
// value of the label key.
func parseSample(s []byte, strs []string, key string) (int64, string, error) {
	var values []int64
	label := ""
	for len(s) > 0 {
		num, typ, n := protowire.ConsumeTag(s)
		if n < 0 {
			return 0, "", errProfile
		}
		s = s[n:]
		switch {
		case num == 2 && typ == protowire.BytesType: // packed values
			v, m := protowire.ConsumeBytes(s)
			if m < 0 {
				return 0, "", errProfile
			}
			for len(v) > 0 {
				x, k := protowire.ConsumeVarint(v)
				if k < 0 {
					return 0, "", errProfile
				}
				values, v = append(values, int64(x)), v[k:]
			}
			s = s[m:]
		case num == 2 && typ == protowire.VarintType:
			x, m := protowire.ConsumeVarint(s)
			if m < 0 {
				return 0, "", errProfile
			}
			values, s = append(values, int64(x)), s[m:]
		case num == 3 && typ == protowire.BytesType: // label
			v, m := protowire.ConsumeBytes(s)
			if m < 0 {
				return 0, "", errProfile
			}
			k, str := labelOf(v)
			if k >= 0 && k < len(strs) && strs[k] == key && str >= 0 && str < len(strs) {
				label = strs[str]
			}
			s = s[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, s)
			if m < 0 {
				return 0, "", errProfile
			}
			s = s[m:]
		}
	}
	if len(values) < 2 {
		return 0, "", fmt.Errorf("%w: a sample with %d values (want count, nanoseconds)", errProfile, len(values))
	}
	return values[1], label, nil
}

// labelOf returns a Label's key and str string indexes (-1 when absent).
func labelOf(v []byte) (key, str int) {
	key, str = -1, -1
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return -1, -1
		}
		v = v[n:]
		if typ != protowire.VarintType {
			m := protowire.ConsumeFieldValue(num, typ, v)
			if m < 0 {
				return -1, -1
			}
			v = v[m:]
			continue
		}
		x, m := protowire.ConsumeVarint(v)
		if m < 0 {
			return -1, -1
		}
		v = v[m:]
		switch num {
		case 1:
			key = int(x)
		case 2:
			str = int(x)
		}
	}
	return key, str
}
