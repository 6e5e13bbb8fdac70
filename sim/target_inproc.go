package sim

import (
	"context"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
)

// inProcessTarget drives an edge.Backend directly, without HTTP.
type inProcessTarget struct {
	b edge.Backend
}

// NewInProcessTarget returns a Target over b. It is as safe for concurrent
// use as b is (edge.Backend promises it is).
func NewInProcessTarget(b edge.Backend) Target { return &inProcessTarget{b: b} }

func (t *inProcessTarget) Name() string { return "in-process" }

func (t *inProcessTarget) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) error {
	_, err := t.b.CreateShow(ctx, cfg)
	return err
}

func (t *inProcessTarget) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, error) {
	h, _, err := t.b.Hold(ctx, req)
	return h, err
}

func (t *inProcessTarget) GetShow(ctx context.Context, show string) (ShowState, error) {
	doc, err := t.b.GetShow(ctx, show)
	if err != nil {
		return ShowState{}, err
	}
	return ShowState{Sections: doc.Sections, Totals: doc.Totals}, nil
}

func (t *inProcessTarget) Seats(ctx context.Context, show, section string) (map[string]string, error) {
	entries, err := t.b.Seats(ctx, show, section)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.ID] = e.State.String()
	}
	return out, nil
}

func (t *inProcessTarget) Release(ctx context.Context, show, hold string) error {
	return t.b.ReleaseHold(ctx, "", show, hold)
}
