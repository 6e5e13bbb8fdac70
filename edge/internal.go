package edge

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// Settler takes the results of the payment and notification consumers and
// turns them into commands for the order's shard (actors.Booking implements
// it). Safe for concurrent use; both calls are idempotent by event id. A
// payment result's e.Attempt names the payment attempt it settles.
type Settler interface {
	SettlePayment(ctx context.Context, e seatmap.Event, success bool, eventID string) error
	RecordNotification(ctx context.Context, e seatmap.Event, channel string) error
}

// internalBody is the body of POST /v1/internal/payment-results
// ({"event":{...},"success":true[,"attempt":"2"]}) and
// /v1/internal/notifications ({"event":{...},"channel":"log"}). attempt
// names the payment attempt the result is for (event.attempt says the same;
// when both are given, attempt wins).
type internalBody struct {
	Event   *seatmap.Event `json:"event"`
	Success bool           `json:"success"`
	Attempt string         `json:"attempt"`
	Channel string         `json:"channel"`
}

// internal serves the consumers' callbacks (internal token only).
func (s *Server) internal(ctx *fasthttp.RequestCtx, r routeID) {
	if s.opt.Settler == nil {
		s.writeError(ctx, edgeError(errNotFound, "no such route"))
		return
	}
	if !tokenIs(ctx, s.internalTok) {
		s.writeError(ctx, edgeError(errUnauthorized, "the internal bearer token is required"))
		return
	}
	var body internalBody
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Event == nil || body.Event.ID == "" || body.Event.OrderID == "" ||
		!validShowID([]byte(body.Event.Show)) || body.Event.Shard < 0 {
		s.writeError(ctx, &seatmap.Error{Err: seatmap.ErrInvalidRequest, Msg: "want {\"event\":{...},\"success\"|\"channel\"}"})
		return
	}
	c := s.backendCtx(ctx)
	defer c.cancel()
	var err error
	if r == routePaymentResult {
		if body.Attempt != "" {
			body.Event.Attempt = body.Attempt
		}
		err = s.opt.Settler.SettlePayment(c, *body.Event, body.Success, body.Event.ID)
	} else {
		if body.Channel == "" {
			body.Channel = "log"
		}
		err = s.opt.Settler.RecordNotification(c, *body.Event, body.Channel)
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
