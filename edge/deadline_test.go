package edge

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCallCtx(t *testing.T) {
	c := newCallCtx(time.Now().Add(20 * time.Millisecond))
	cancel := c.cancel
	if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if c.Err() != nil || c.Value("k") != nil {
		t.Fatal("fresh context ended")
	}
	select {
	case <-c.Done():
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("err %v", c.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Done never closed")
	}
	cancel()
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("cancel after expiry changed err to %v", c.Err())
	}

	// Cancel closes Done and stops the timer.
	c = newCallCtx(time.Now().Add(time.Hour))
	cancel = c.cancel
	done := c.Done()
	cancel()
	select {
	case <-done:
	default:
		t.Fatal("cancel did not close Done")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("err %v", c.Err())
	}

	// Err notices the deadline without a timer.
	c = newCallCtx(time.Now().Add(time.Millisecond))
	cancel = c.cancel
	defer cancel()
	time.Sleep(3 * time.Millisecond)
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done open after the deadline")
	}
	// context.AfterFunc and WithCancel children work on it.
	c = newCallCtx(time.Now().Add(time.Hour))
	cancel = c.cancel
	child, cancelChild := context.WithCancel(c)
	defer cancelChild()
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("child not cancelled")
	}
}
