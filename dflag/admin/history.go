package admin

import (
	"net/http"
	"sync"
	"time"
)

// DefaultHistory is the number of recent changes the console keeps for
// GET {prefix}/history.
const DefaultHistory = 100

// Change is one applied POST in the console's history.
type Change struct {
	Time     time.Time `json:"time"`               // when it applied
	Who      string    `json:"who"`                // the client address, with " (bearer)" when it sent a token
	Results  []Result  `json:"results"`            // what it applied, in order
	Matched  int       `json:"matched"`            // flags matched, summed over Results
	Warnings []string  `json:"warnings,omitempty"` // the operations that matched no flag
}

// ring is a bounded history of changes, newest last.
type ring struct {
	mu   sync.Mutex
	buf  []Change
	next int
	full bool
}

func (g *ring) add(c Change) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) == 0 {
		return
	}
	g.buf[g.next] = c
	g.next = (g.next + 1) % len(g.buf)
	g.full = g.full || g.next == 0
}

// list returns the changes, newest first; never nil.
func (g *ring) list() []Change {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.next
	if g.full {
		n = len(g.buf)
	}
	out := make([]Change, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, g.buf[(g.next-i+len(g.buf))%len(g.buf)])
	}
	return out
}

// history serves GET /history: {"changes": [...]}, newest first.
func (h *handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	if !h.takeListing(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Changes []Change `json:"changes"`
	}{h.hist.list()})
}
