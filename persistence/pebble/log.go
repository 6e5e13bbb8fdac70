package pebble

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// slogLogger adapts pebble.Logger to slog. Pebble's informational messages
// (flushes, compactions, WAL recovery) go to Debug so that a node's log stays
// quiet; errors go to Error.
type slogLogger struct{ l *slog.Logger }

var _ pebble.Logger = slogLogger{}

// Infof implements pebble.Logger at slog Debug level.
func (a slogLogger) Infof(format string, args ...any) {
	if a.l.Enabled(context.Background(), slog.LevelDebug) {
		a.l.Debug(fmt.Sprintf(format, args...))
	}
}

// Errorf implements pebble.Logger at slog Error level.
func (a slogLogger) Errorf(format string, args ...any) {
	a.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf implements pebble.Logger. Pebble calls it on an error it cannot
// continue from (any failed WAL write or sync of a commit, some background
// failures) and expects it not to return: its default logger exits the
// process. We log and panic with a pebbleFatal. On the write paths the store
// recovers that panic and fails itself (every later read and write is
// refused until Reopen) so that the node answers 503 instead of vanishing;
// anywhere else the panic ends the process. Reopen (or a restart) recovers
// what was synced.
func (a slogLogger) Fatalf(format string, args ...any) {
	f := pebbleFatal{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			f.errs = append(f.errs, err)
		}
	}
	a.l.Error("pebble fatal", "err", f.msg)
	panic(f)
}

// pebbleFatal is the panic value of slogLogger.Fatalf. It wraps the errors
// among Fatalf's arguments (errors.Is(err, syscall.ENOSPC) works).
type pebbleFatal struct {
	msg  string
	errs []error
}

func (f pebbleFatal) Error() string   { return "pebble fatal: " + f.msg }
func (f pebbleFatal) Unwrap() []error { return f.errs }

// eventListener reports the Pebble events an operator must see: background
// errors, corruption, write stalls (commits block), slow disk, low disk space.
// Flushes and compactions are not logged.
func eventListener(log *slog.Logger) *pebble.EventListener {
	bg := &logLimiter{every: 10 * time.Second, now: time.Now}
	return &pebble.EventListener{
		// on a full disk Pebble retries its flush in a tight loop, one error
		// each time (237,058 lines in seconds were seen): the first is logged,
		// then one a period with how many were left out, so the log does not
		// fill the disk it is reporting on
		BackgroundError: func(err error) {
			if n, ok := bg.allow(); ok {
				log.Error("pebble background error", "err", err, "suppressed", n)
			}
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			log.Error("pebble data corruption", "path", info.Path, "err", info.Details)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			log.Warn("pebble write stall: commits blocked", "reason", info.Reason)
		},
		WriteStallEnd: func() { log.Info("pebble write stall ended") },
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.Warn("pebble disk slow", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
		},
		LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
			log.Warn("pebble low disk space", "availBytes", info.AvailBytes, "totalBytes", info.TotalBytes)
		},
	}
}

// logLimiter lets one message a period through and counts the rest. Safe for
// concurrent use.
type logLimiter struct {
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex // protects following fields
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many were left out since the last one.
func (l *logLimiter) allow() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
