package rocketmq

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// A consumer's place in its group survives its process. The broker drops a
// member whose connection closes, but when a process dies without the broker
// seeing the close (a machine or a network gone), the dead member keeps its
// share of the group's queues until the broker expires it, 120 s after its
// last heartbeat (the broker's channelExpiredTimeout): the events in those
// queues wait that long (measured: README.md, "A consumer that dies unseen").
// So a node names its consumers after its data directory
// (InstanceFor) and every consumer allocates queues over the distinct member
// ids (allocateDistinct): a node restarted on the same host has its dead
// predecessor's client id, and takes all of that share at once.

// instanceFile is the file in a data directory holding the consumer instance
// token of the process that owns the directory.
const instanceFile = "rocketmq-instance"

// ErrBadInstanceFile: the data directory's instance file does not hold a
// token (it was edited or damaged); remove it to get a new one.
var ErrBadInstanceFile = errors.New("rocketmq: bad instance file")

// InstanceFor returns the consumer instance name of group for the process
// that owns dir: group, "-", and a random token kept in dir (made on the
// first call). Only one process may own dir at a time (a boxoffice node and
// a `boxoffice consume` process hold the lock of a Pebble store in it): two
// live processes on one host with one instance name would both consume the
// same queues.
func InstanceFor(dir, group string) (string, error) {
	path := filepath.Join(dir, instanceFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		tok := hex.EncodeToString(r[:])
		if err := writeFileSync(path, []byte(tok+"\n")); err != nil {
			return "", fmt.Errorf("rocketmq: instance file: %w", err)
		}
		return group + "-" + tok, nil
	}
	if err != nil {
		return "", fmt.Errorf("rocketmq: instance file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if _, err := hex.DecodeString(tok); err != nil || len(tok) != 16 {
		return "", fmt.Errorf("%w: %s: %q", ErrBadInstanceFile, path, tok)
	}
	return group + "-" + tok, nil
}

// writeFileSync writes a new file through a temporary one, synced and
// renamed, so a crash leaves either no file or the whole token.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// allocateDistinct is the library's average allocation over the group's
// distinct member ids. The broker lists a member once per connection, so a
// restarted process that has its dead predecessor's id appears twice, and
// the library's allocation would give it the first share only (it finds its
// own id at the first place) and the second share to nobody. Every member of
// a group must allocate alike: all boxoffice consumers use this one.
func allocateDistinct(group, self string, queues []*primitive.MessageQueue, members []string) []*primitive.MessageQueue {
	distinct := slices.Clone(members)
	slices.Sort(distinct)
	return consumer.AllocateByAveragely(group, self, queues, slices.Compact(distinct))
}
