package edge

import (
	"context"
	"encoding/json"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/valyala/fasthttp"
)

// WebhookAdmin registers webhooks and reports their deliveries
// (pipeline.Webhooks implements it). Safe for concurrent use.
type WebhookAdmin interface {
	// Create registers a webhook and returns it with its secret.
	Create(ctx context.Context, spec pipeline.WebhookSpec) (pipeline.Webhook, error)
	// List, Get return webhooks without their secrets.
	List(ctx context.Context) ([]pipeline.Webhook, error)
	Get(ctx context.Context, id string) (pipeline.Webhook, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string) ([]pipeline.Delivery, error)
}

// webhooks serves /v1/webhooks (admin token):
//
//	POST /v1/webhooks {"url","events":[...],"secret"?} → 201 webhook with its secret (shown only here)
//	GET /v1/webhooks → 200 {"webhooks":[...]}; GET /v1/webhooks/{id} → 200 webhook
//	DELETE /v1/webhooks/{id} → 204
//	GET /v1/webhooks/{id}/deliveries → 200 {"deliveries":[{"id","status","attempts":[...],...}]}
func (s *Server) webhooks(ctx *fasthttp.RequestCtx, m match) {
	if s.opt.Webhooks == nil {
		s.writeError(ctx, edgeError(errNotFound, "no such route"))
		return
	}
	if !s.authorized(ctx) {
		s.writeError(ctx, edgeError(errUnauthorized, "an admin bearer token is required"))
		return
	}
	if m.route != routeCreateWebhook && m.route != routeListWebhooks && !validRefID(m.p1) {
		s.writeError(ctx, edgeError(pipeline.ErrWebhookNotFound, "no webhook with this id"))
		return
	}
	// registration resolves the URL's host: allow it more than a Backend call
	c, cancel := context.WithTimeout(context.Background(), 2*s.opt.BackendTimeout)
	defer cancel()
	id := string(m.p1)
	var (
		out    any
		status = fasthttp.StatusOK
		err    error
	)
	switch m.route {
	case routeCreateWebhook:
		var spec pipeline.WebhookSpec
		if err := json.Unmarshal(ctx.PostBody(), &spec); err != nil {
			s.writeError(ctx, badRequest("the body must be {\"url\",\"events\":[...],\"secret\"?}: "+err.Error()))
			return
		}
		out, err = s.opt.Webhooks.Create(c, spec)
		status = fasthttp.StatusCreated
	case routeListWebhooks:
		var hs []pipeline.Webhook
		hs, err = s.opt.Webhooks.List(c)
		out = struct {
			Webhooks []pipeline.Webhook `json:"webhooks"`
		}{hs}
	case routeGetWebhook:
		out, err = s.opt.Webhooks.Get(c, id)
	case routeDeleteWebhook:
		if err = s.opt.Webhooks.Delete(c, id); err == nil {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	case routeWebhookDeliveries:
		var ds []pipeline.Delivery
		ds, err = s.opt.Webhooks.Deliveries(c, id)
		out = struct {
			Deliveries []pipeline.Delivery `json:"deliveries"`
		}{ds}
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(b)
}
