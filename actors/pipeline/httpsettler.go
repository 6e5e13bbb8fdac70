package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// HTTPSettler reports consumer results to a boxoffice node over its internal
// API (POST /v1/internal/payment-results and /v1/internal/notifications,
// internal token), for consumers that run in their own process
// (`boxoffice consume`). The node turns them into commands for the order's
// shard. Safe for concurrent use.
type HTTPSettler struct {
	Base   string // node root URL, e.g. http://127.0.0.1:8080
	Token  string // the node's internal token (its admin token when it has none)
	Client *http.Client
}

// SettlePayment posts {"event":{...},"success":bool[,"attempt":"..."]}: the
// attempt (e.Attempt) names the charge, for the node to refund it if needed.
func (h *HTTPSettler) SettlePayment(ctx context.Context, e seatmap.Event, success bool, eventID string) error {
	e.ID = eventID
	e.Token = "" // the charge is made: the payment token goes no further
	body := map[string]any{"event": e, "success": success}
	if e.Attempt != "" {
		body["attempt"] = e.Attempt
	}
	return h.post(ctx, "/v1/internal/payment-results", body)
}

func (h *HTTPSettler) RecordNotification(ctx context.Context, e seatmap.Event, channel string) error {
	e.Token = ""
	return h.post(ctx, "/v1/internal/notifications", map[string]any{"event": e, "channel": channel})
}

func (h *HTTPSettler) post(ctx context.Context, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", h.Base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set("Content-Type", "application/json")
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Error.Code != "" {
			if err := seatmap.FromCode(e.Error.Code, e.Error.Message, nil); err != nil {
				return err
			}
		}
		return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	return nil
}
