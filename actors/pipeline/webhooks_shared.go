package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// SharedWebhooks keeps webhook registrations and delivery records where
// every node of a fleet sees them (persistence/redis.Client implements it).
// Values are the caller's JSON; ids are 1 to 64 of [A-Za-z0-9_-]. Safe for
// concurrent use.
type SharedWebhooks interface {
	// WebhookRegistrations returns every registration and their version;
	// when known is the stored version, changed is false and regs nil.
	WebhookRegistrations(ctx context.Context, known string) (version string, regs map[string][]byte, changed bool, err error)
	// PutWebhook stores a registration (onlyIfAbsent: unless the id exists).
	PutWebhook(ctx context.Context, id string, reg []byte, onlyIfAbsent bool) (stored bool, err error)
	// DeleteWebhook deletes a registration and its delivery records.
	DeleteWebhook(ctx context.Context, id string) (existed bool, err error)
	// PutWebhookDelivery stores a delivery record if its webhook is
	// registered, keeping the newest keep and none created before
	// minCreatedMs.
	PutWebhookDelivery(ctx context.Context, webhook, delivery string, createdMs int64, rec []byte, keep int, minCreatedMs int64) (registered bool, err error)
	// WebhookDeliveries returns a webhook's delivery records, in no order.
	WebhookDeliveries(ctx context.Context, webhook string) (registered bool, recs [][]byte, err error)
}

// errRegsNotRead: with Shared, the registrations were never read yet (it
// did not answer since the start).
var errRegsNotRead = errors.New("webhook registrations not read from the shared store yet")

// sharedTimeout bounds one call to Shared.
const sharedTimeout = 2 * time.Second

// mirrorBatch is how many mirror marks one round of the mirror loop takes.
const mirrorBatch = 256

// mirrorGather is how long the mirror loop waits after a wake-up, so that
// one round copies the records written meanwhile.
const mirrorGather = 10 * time.Millisecond

// mirrorRetry is how often the mirror loop looks for marks left by a
// failed copy.
const mirrorRetry = time.Second

// unavailable is the error of an admin call that needs Shared when it
// failed: 503, try again.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "webhook registrations are in Redis, which did not answer; try again"}
}

// validWebhookID reports whether id has the form Create gives ids
// ("wh_" + 24 hex digits); no other id names a webhook.
func validWebhookID(id string) bool {
	if len(id) != 27 || !strings.HasPrefix(id, "wh_") {
		return false
	}
	for _, c := range id[3:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func notFound() error {
	return &seatmap.Error{Err: ErrWebhookNotFound, Msg: "no webhook with this id"}
}

// current makes the cache current before an admin read: with Shared it
// reads the registrations (503 when Shared does not answer).
func (w *Webhooks) current(ctx context.Context) error {
	if w.Shared == nil {
		return nil
	}
	if err := w.refresh(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// refresh reads the registrations from Shared into the cache (when their
// version changed), after moving registrations left in KV by a run without
// Shared there. Webhooks that disappeared lose their local records.
func (w *Webhooks) refresh(ctx context.Context) error {
	w.regMu.Lock()
	defer w.regMu.Unlock()
	if !w.migrated {
		if err := w.migrate(ctx); err != nil {
			return err
		}
		w.migrated = true
	}
	w.mu.Lock()
	known, first := w.regsVer, !w.regsLoaded
	w.mu.Unlock()
	if first {
		known = ""
	}
	ver, regs, changed, err := w.Shared.WebhookRegistrations(ctx, known)
	if err != nil || !changed {
		return err
	}
	if ver == "" && known != "" {
		return w.reseed(ctx)
	}
	hooks := make(map[string]Webhook, len(regs))
	for id, b := range regs {
		var h Webhook
		if err := json.Unmarshal(b, &h); err != nil || h.ID != id {
			w.Log.Error("webhooks: ignoring a malformed registration in Redis", "id", id, "err", err)
			continue
		}
		hooks[id] = h
	}
	w.mu.Lock()
	var removed, added []string
	for id := range w.hooks {
		if _, ok := hooks[id]; !ok {
			removed = append(removed, id)
		}
	}
	for id := range hooks {
		if _, ok := w.hooks[id]; !ok || first {
			added = append(added, id)
		}
	}
	w.hooks, w.regsVer, w.regsLoaded = hooks, ver, true
	w.mu.Unlock()
	if first { // deleted while this node was away
		gone, err := w.knownGone(hooks)
		if err != nil {
			return err
		}
		removed = append(removed, gone...)
	}
	for _, id := range added {
		if err := w.KV.Put(whKnownPrefix+id, nil, false); err != nil {
			return err
		}
	}
	for _, id := range removed {
		w.Log.Info("webhooks: a webhook was deleted; dropping its deliveries here", "webhook", id)
		if err := w.purgeLocal(id); err != nil {
			return err
		}
	}
	return nil
}

// reseed writes the cached registrations back to Shared, which lost them:
// its version is gone, and no change ever removes it. A registration another
// node deleted just before the loss may come back; none is lost.
func (w *Webhooks) reseed(ctx context.Context) error {
	w.mu.Lock()
	hooks := make([]Webhook, 0, len(w.hooks))
	for _, h := range w.hooks {
		hooks = append(hooks, h)
	}
	w.mu.Unlock()
	w.Log.Error("webhooks: Redis lost the webhook registrations; writing back those this node knows", "webhooks", len(hooks))
	for _, h := range hooks {
		b, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := w.Shared.PutWebhook(ctx, h.ID, b, true); err != nil {
			return err
		}
	}
	w.mu.Lock()
	w.regsVer = "" // read them all next time
	w.mu.Unlock()
	return nil
}

// knownGone returns the webhooks this node has seen that are not in hooks.
func (w *Webhooks) knownGone(hooks map[string]Webhook) ([]string, error) {
	var gone []string
	err := w.KV.ScanKV(whKnownPrefix, func(key string, _ []byte) bool {
		if id := strings.TrimPrefix(key, whKnownPrefix); hooks[id].ID == "" {
			gone = append(gone, id)
		}
		return true
	})
	return gone, err
}

// migrate moves registrations stored in KV (a run without Shared) to
// Shared, keeping one already there, and deletes them from KV.
func (w *Webhooks) migrate(ctx context.Context) error {
	type reg struct {
		key string
		val []byte
	}
	var regs []reg
	if err := w.KV.ScanKV(whRegPrefix, func(key string, val []byte) bool {
		regs = append(regs, reg{key, val})
		return true
	}); err != nil {
		return err
	}
	for _, r := range regs {
		id := strings.TrimPrefix(r.key, whRegPrefix)
		if validWebhookID(id) {
			if _, err := w.Shared.PutWebhook(ctx, id, r.val, true); err != nil {
				return err
			}
			w.Log.Info("webhooks: registration moved from the local store to Redis", "webhook", id)
		}
		if err := w.KV.DeleteKV(r.key); err != nil {
			return err
		}
	}
	return nil
}

// createShared stores a new registration in Shared and caches it.
func (w *Webhooks) createShared(ctx context.Context, h Webhook, b []byte) error {
	w.regMu.Lock()
	defer w.regMu.Unlock()
	if _, err := w.Shared.PutWebhook(ctx, h.ID, b, false); err != nil {
		return unavailable(err)
	}
	w.mu.Lock()
	w.hooks[h.ID] = h // the next refresh reads it again: the version changed
	w.mu.Unlock()
	if err := w.KV.Put(whKnownPrefix+h.ID, nil, false); err != nil {
		w.Log.Warn("webhooks: cannot note a registration locally", "webhook", h.ID, "err", err)
	}
	return nil
}

// deleteShared deletes a registration, with its records, from Shared and
// from this node; the other nodes drop theirs at their next refresh.
func (w *Webhooks) deleteShared(ctx context.Context, id string) error {
	if !validWebhookID(id) {
		return notFound()
	}
	w.regMu.Lock()
	existed, err := w.Shared.DeleteWebhook(ctx, id)
	if err == nil {
		w.mu.Lock()
		delete(w.hooks, id)
		w.mu.Unlock()
	}
	w.regMu.Unlock()
	if err != nil {
		return unavailable(err)
	}
	if !existed {
		return notFound()
	}
	return w.purgeLocal(id)
}

// deliveriesShared lists a webhook's records from Shared: every node's.
func (w *Webhooks) deliveriesShared(ctx context.Context, id string) ([]Delivery, error) {
	if !validWebhookID(id) {
		return nil, notFound()
	}
	registered, recs, err := w.Shared.WebhookDeliveries(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	if !registered {
		return nil, notFound()
	}
	out := make([]Delivery, 0, len(recs))
	for _, b := range recs {
		var d Delivery
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("webhooks: a delivery record in Redis: %w", err)
		}
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b Delivery) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// markMirror, with Shared, writes a mirror mark for a delivery record about
// to be written, and returns what to call once it is (it wakes the mirror
// loop). The mark is written first: a crash between them leaves a mark,
// which copies the record as it is.
func (w *Webhooks) markMirror(webhook, delivery string) (written func()) {
	if w.Shared == nil {
		return func() {}
	}
	w.mirMu.RLock()
	key := fmt.Sprintf("%s%020d", whMirPrefix, w.mirSeq.Add(1))
	if err := w.KV.Put(key, []byte(webhook+"/"+delivery), false); err != nil {
		// the record write that follows fails alike (a failed store fails
		// every write); if it does not, the next write of the record copies it
		w.Log.Warn("webhooks: cannot mark a delivery record for Redis", "delivery", delivery, "err", err)
	}
	return func() {
		w.mirMu.RUnlock()
		select {
		case w.mirWake <- struct{}{}:
		default:
		}
	}
}

// loadMirrorSeq continues the mirror marks' sequence after the last mark
// left in KV.
func (w *Webhooks) loadMirrorSeq() error {
	var last uint64
	n := 0
	err := w.KV.ScanKV(whMirPrefix, func(key string, _ []byte) bool {
		if s, err := strconv.ParseUint(strings.TrimPrefix(key, whMirPrefix), 10, 64); err == nil {
			last = max(last, s)
		}
		n++
		return true
	})
	if err != nil {
		return fmt.Errorf("webhooks: loading mirror marks: %w", err)
	}
	w.mirSeq.Store(last)
	if n > 0 {
		w.Log.Info("webhooks: delivery records still to copy to Redis", "records", n)
	}
	return nil
}

// mirrorOnce copies the records of up to mirrorBatch marks to Shared,
// oldest mark first, and deletes those marks. It returns how many marks it
// took; on an error from Shared the marks not copied stay for a later round.
func (w *Webhooks) mirrorOnce(ctx context.Context) (int, error) {
	type mark struct{ key, ref string }
	var marks []mark
	w.mirMu.Lock() // every mark found has its record written
	err := w.KV.ScanKV(whMirPrefix, func(key string, val []byte) bool {
		marks = append(marks, mark{key, string(val)})
		return len(marks) < mirrorBatch
	})
	w.mirMu.Unlock()
	if err != nil || len(marks) == 0 {
		return 0, err
	}
	copied := map[string]bool{} // webhook/delivery copied this round: its newest record
	var done []string
	defer func() { _ = w.KV.DeleteKV(done...) }()
	for _, m := range marks {
		if !copied[m.ref] {
			if err := w.mirror(ctx, m.ref); err != nil {
				return len(marks), err
			}
			copied[m.ref] = true
		}
		done = append(done, m.key)
	}
	return len(marks), nil
}

// mirror copies one local delivery record ("webhook/delivery") to Shared.
// A record gone from KV (its webhook deleted) or unreadable is skipped.
func (w *Webhooks) mirror(ctx context.Context, ref string) error {
	webhook, delivery, _ := strings.Cut(ref, "/")
	raw, ok, err := w.KV.Get(whDelPrefix + ref)
	if err != nil {
		return err
	}
	var d Delivery
	if ok {
		err = json.Unmarshal(raw, &d)
	}
	if !ok || err != nil {
		if err != nil {
			w.Log.Error("webhooks: a malformed local delivery record is not copied to Redis", "delivery", ref, "err", err)
		}
		return nil
	}
	c, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	minCreated := w.Now().Add(-w.DeliveriesKeptFor).UnixMilli()
	_, err = w.Shared.PutWebhookDelivery(c, webhook, delivery, d.CreatedAt.UnixMilli(), raw, w.DeliveriesKept, minCreated)
	return err // not registered: the webhook is gone, nothing to keep
}

// sharedLoops, with Shared, refreshes the registrations every RefreshEvery
// and copies marked delivery records to Shared, until ctx is done.
func (w *Webhooks) sharedLoops(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.mirrorLoop(ctx)
	}()
	w.refreshLoop(ctx)
	<-done
}

func (w *Webhooks) refreshLoop(ctx context.Context) {
	t := time.NewTicker(w.RefreshEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, cancel := context.WithTimeout(ctx, sharedTimeout)
		err := w.refresh(c)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			w.Log.Warn("webhooks: cannot read the registrations from Redis; delivering to those known", "err", err)
		case err == nil && failing:
			failing = false
			w.Log.Info("webhooks: registrations read from Redis again")
		}
	}
}

func (w *Webhooks) mirrorLoop(ctx context.Context) {
	t := time.NewTicker(mirrorRetry)
	defer t.Stop()
	failing := false
	for {
		n, err := w.mirrorOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			w.Log.Warn("webhooks: cannot copy delivery records to Redis; retrying", "err", err)
		case err == nil && failing:
			failing = false
			w.Log.Info("webhooks: copying delivery records to Redis again")
		}
		if err == nil && n == mirrorBatch {
			continue // more marks wait
		}
		select {
		case <-ctx.Done():
			// copy what the last writes marked; what is left goes at the next start
			c, cancel := context.WithTimeout(context.Background(), sharedTimeout)
			_, _ = w.mirrorOnce(c)
			cancel()
			return
		case <-w.mirWake:
			// let the writes of this moment gather: one round, one store commit
			select {
			case <-time.After(mirrorGather):
			case <-ctx.Done():
			}
		case <-t.C:
		}
	}
}
