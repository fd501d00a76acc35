package tracestore

import (
	"bytes"
	"cmp"
	"slices"
	"time"
)

// Filter selects traces for [Store.Search]. Its zero value selects every
// trace.
type Filter struct {
	// Route selects traces whose root span's http.route is exactly Route.
	Route string
	// Status selects by outcome: "1xx" to "5xx" by the root span's
	// http.response.status_code, "error" for traces with at least one span
	// whose status is Error, "ok" for traces with none.
	Status string
	// MinDuration selects traces that lasted at least this long.
	MinDuration time.Duration
	// RequestID selects the trace whose root span's request.id (the
	// middleware's X-Request-Id) is exactly RequestID.
	RequestID string
	// Sort orders the selection: "" or "recent", the most recently started
	// first; "longest", the longest first.
	Sort string
}

// Orders a [Filter] accepts.
var sortOrders = []string{"recent", "longest"}

// Status classes a [Filter] accepts.
var statusClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "error", "ok"}

func (f *Filter) match(e *entry) bool {
	if f.MinDuration > 0 && e.end.Sub(e.start) < f.MinDuration {
		return false
	}
	if f.Status == "error" && e.errors == 0 || f.Status == "ok" && e.errors > 0 {
		return false
	}
	if f.Route == "" && f.RequestID == "" && (f.Status == "" || f.Status == "error" || f.Status == "ok") {
		return true
	}
	if len(e.spans) == 0 {
		return false
	}
	root := &e.spans[e.root]
	if f.Route != "" {
		if v, _ := root.Attributes["http.route"].(string); v != f.Route {
			return false
		}
	}
	if f.RequestID != "" {
		if v, _ := root.Attributes["request.id"].(string); v != f.RequestID {
			return false
		}
	}
	if len(f.Status) == 3 && f.Status[1:] == "xx" {
		c, _ := root.Attributes["http.response.status_code"].(int64)
		if c/100 != int64(f.Status[0]-'0') || c >= 1000 {
			return false
		}
	}
	return true
}

// Search returns the summaries of the traces f selects, the most recently
// started first, skipping offset of them and returning at most limit, and
// how many f selects in all. It copies no span, so listing a full store
// costs a few bytes per trace held.
func (s *Store) Search(f Filter, offset, limit int) (page []Summary, total int) {
	r := s.search(f, offset, limit, false)
	return r.rows, r.total
}

// maxPoints bounds the points of the list page's chart: the most recent
// matches.
const maxPoints = 1000

// maxRoutes bounds the routes the list page offers as a filter, and
// maxRouteLen the length of one (a longer one can still be typed in the
// query).
const (
	maxRoutes   = 200
	maxRouteLen = 256
)

type point struct {
	id    string
	start time.Time
	dur   time.Duration
	err   bool
	code  int
}

type searchResult struct {
	rows   []Summary
	total  int
	points []point  // the most recent maxPoints matches, most recent first
	routes []string // distinct routes of all traces held, sorted
}

// match is a trace a filter selects; its entry is read under the store's
// lock only.
type match struct {
	start time.Time
	e     *entry
}

// points returns the chart's points of matches; the store's lock must be
// held.
func points(matches []match) []point {
	out := make([]point, 0, len(matches))
	for _, m := range matches {
		p := point{id: m.e.id.String(), start: m.start, dur: m.e.end.Sub(m.e.start), err: m.e.errors > 0}
		if len(m.e.spans) > 0 {
			c, _ := m.e.spans[m.e.root].Attributes["http.response.status_code"].(int64)
			p.code = int(min(max(c, 0), 999))
		}
		out = append(out, p)
	}
	return out
}

func (s *Store) search(f Filter, offset, limit int, extras bool) searchResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	var matches []match
	var r searchResult
	var routes map[string]struct{}
	if extras {
		routes = make(map[string]struct{})
	}
	for _, id := range s.order {
		e := s.traces[id]
		if routes != nil && len(e.spans) > 0 && len(routes) < maxRoutes {
			if rt, _ := e.spans[e.root].Attributes["http.route"].(string); rt != "" && len(rt) <= maxRouteLen {
				routes[rt] = struct{}{}
			}
		}
		if f.match(e) {
			matches = append(matches, match{e.start, e})
		}
	}
	slices.SortStableFunc(matches, func(a, b match) int {
		return cmp.Or(b.start.Compare(a.start), bytes.Compare(a.e.id[:], b.e.id[:]))
	})
	if extras { // the chart plots the most recent matches, whatever the order of the rows
		r.points = points(matches[:min(len(matches), maxPoints)])
	}
	if f.Sort == "longest" {
		slices.SortStableFunc(matches, func(a, b match) int {
			return cmp.Compare(b.e.end.Sub(b.e.start), a.e.end.Sub(a.e.start))
		})
	}
	offset = min(max(offset, 0), len(matches))
	end := min(offset+max(limit, 0), len(matches))
	r.total = len(matches)
	for _, m := range matches[offset:end] {
		r.rows = append(r.rows, m.e.summary())
	}
	if extras {
		for rt := range routes {
			r.routes = append(r.routes, rt)
		}
		slices.Sort(r.routes)
	}
	return r
}
