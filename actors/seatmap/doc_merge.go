package seatmap

// Totals are a show's seat counts by state.
type Totals struct {
	Capacity  int `json:"capacity"`
	Available int `json:"available"`
	Held      int `json:"held"`
	Reserved  int `json:"reserved"`
	Sold      int `json:"sold"`
}

// ShowDoc is the whole show document, merged from its shards' ShowViews.
type ShowDoc struct {
	Config      ShowConfig
	Sections    []SectionView // in config order
	Totals      Totals
	HoldsActive int
	Queue       *QueueStats    // the waiting room's figures (nil: no room)
	Waitlist    *WaitlistStats // the waitlist's figures (nil: never used)
}

// MergeShow merges the shards' views (any order) into the show document.
func MergeShow(views []ShowView) ShowDoc {
	var d ShowDoc
	if len(views) == 0 {
		return d
	}
	d.Config = views[0].Config
	d.Queue, d.Waitlist = views[0].Queue, views[0].Waitlist
	byID := map[string]SectionView{}
	for _, v := range views {
		d.HoldsActive += v.HoldsActive
		for _, s := range v.Sections {
			byID[s.ID] = s
		}
	}
	for _, cs := range d.Config.Sections {
		s, ok := byID[cs.ID]
		if !ok {
			continue
		}
		d.Sections = append(d.Sections, s)
		d.Totals.Capacity += s.Capacity
		d.Totals.Available += s.Available
		d.Totals.Held += s.Held
		d.Totals.Reserved += s.Reserved
		d.Totals.Sold += s.Sold
	}
	return d
}

// HoldRequest asks for a hold: exactly one of Seats, Section+Quantity,
// Tier+Quantity.
type HoldRequest struct {
	Show     string
	User     string
	Seats    []string
	Section  string
	Tier     string
	Quantity int
	IdemKey  string // optional Idempotency-Key header
	IdemHash string // fingerprint of the request body, with IdemKey
	// Ticket is the waiting-room ticket of the caller's verified pass ("" = no pass).
	Ticket string
}

// OrderRequest converts a hold into an order. IdemKey is the optional
// Idempotency-Key header; IdemHash a fingerprint of the request body.
type OrderRequest struct {
	Show     string
	User     string // the caller: only the hold's user may order it ("" = anyone)
	HoldID   string
	IdemKey  string
	IdemHash string
}
