package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel/attribute"
)

// The service's request_tracing advice, declared through tracing.Kind: on
// while at least one traced request is in flight (and for the kind's linger
// after it), off otherwise, when checking one costs a load and a branch.
// This package imports dflag, so On inlines in it (see "When On is
// inlined" in bounded.dev/dflag/lint; dflaglint reports a check that will
// not).
var (
	traceLookup *dflag.Flag = tracing.Kind.Opt("catalogue_lookup", "child span and row details of catalogue lookups")
	traceCache  *dflag.Flag = tracing.Kind.Opt("catalogue_cache", "cache hits and misses of traced requests")
)

// breakerRecs is a circuit breaker, a Default flag: on from the start (and
// on wherever dflag cannot reach it), so item responses carry
// recommendations; an operator who sees the recommendation service fail
// deactivates breaker:recommendations@ at the console, and items are
// served without them, marked "X-Degraded: recommendations", until it is
// activated again.
var breakerRecs *dflag.Flag = dflag.Default("breaker", "recommendations",
	"recommendations in item responses; deactivate to stop calling the recommendation service")

// item is a catalogue entry.
type item struct {
	ID              int     `json:"id"`
	Name            string  `json:"name"`
	Price           float64 `json:"price,omitempty"`
	Recommendations []int   `json:"recommendations,omitempty"`
}

// service is a small catalogue: /items/{id} looks an item up (a simulated
// database with a cache) and asks the pricing endpoint for its price over
// HTTP, through middleware.Transport, so that a traced request shows a client
// span and the pricing server span in the same trace.
type service struct {
	log     *slog.Logger
	client  *http.Client
	pricing string // base URL of the pricing endpoint

	mu    sync.Mutex
	cache map[int]item
}

func newService(log *slog.Logger, pricingBase string) *service {
	return &service{
		log:     log,
		client:  &http.Client{Transport: middleware.Transport(nil), Timeout: 5 * time.Second},
		pricing: pricingBase,
		cache:   make(map[int]item),
	}
}

// routes registers the service's handlers on mux.
func (s *service) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /items/{id}", s.getItem)
	mux.HandleFunc("GET /pricing/{id}", s.price)
}

func (s *service) index(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "bounded.dev example service\n\n"+
		"GET /items/{id}        an item (add ?tracing=1 to trace the request)\n"+
		"GET /pricing/{id}      the pricing endpoint /items/{id} calls\n"+
		"GET /debug/traces      recent traces (HTML; ?format=text or json)\n"+
		"GET /metrics           metrics (Prometheus text format)\n"+
		"GET /debug/dflag/      dynamic flags console (with -etcd, the fleet's status on top)\n"+
		"GET /debug/fleet       fleet bridge status (JSON; with -etcd)\n")
}

func (s *service) getItem(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.log.DebugContext(ctx, "bad item id", "id", r.PathValue("id"))
		http.Error(w, "item id must be a positive integer", http.StatusBadRequest)
		return
	}
	it, err := s.lookup(ctx, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	it.Price, err = s.fetchPrice(ctx, id)
	if err != nil {
		tracing.RecordError(ctx, err)
		s.log.WarnContext(ctx, "no price", "id", id, "err", err)
	}
	if breakerRecs.On() {
		it.Recommendations = s.recommend(ctx, id)
	} else {
		w.Header().Set("X-Degraded", "recommendations")
	}
	auditTraced(ctx, it)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(it)
}

// recommend asks the (simulated) recommendation service for items like
// id; the breakerRecs circuit breaker keeps it from being called.
func (s *service) recommend(ctx context.Context, id int) []int {
	time.Sleep(time.Millisecond) // the service
	tracing.AddEvent(ctx, "recommendations", attribute.Int("item.id", id))
	return []int{id%1000 + 1, id%1000 + 2, id%1000 + 3}
}

// lookup reads an item from the cache or the (simulated) database.
func (s *service) lookup(ctx context.Context, id int) (item, error) {
	s.mu.Lock()
	it, hit := s.cache[id]
	s.mu.Unlock()
	if traceCache.On() && tracing.Opted(ctx) { // hook check: one load while nobody traces
		tracing.AddEvent(ctx, "cache", attribute.Bool("hit", hit), attribute.Int("item.id", id))
	}
	if hit {
		return it, nil
	}
	if traceLookup.On() && tracing.Opted(ctx) {
		c, sp := tracing.Start(ctx, "catalogue.lookup")
		defer sp.End()
		ctx = c
		tracing.SetAttributes(ctx, attribute.String("db.system.name", "memory"),
			attribute.String("db.query.text", "SELECT name FROM items WHERE id = ?"))
	}
	s.log.DebugContext(ctx, "cache miss", "id", id)
	time.Sleep(2 * time.Millisecond) // the database
	if id > 1000 {
		return item{}, fmt.Errorf("no item %d", id)
	}
	it = item{ID: id, Name: "item " + strconv.Itoa(id)}
	s.mu.Lock()
	s.cache[id] = it
	s.mu.Unlock()
	return it, nil
}

// fetchPrice calls the pricing endpoint. For a traced request, Transport
// starts a client span and propagates a sampled traceparent, and the
// pricing handler (behind the same middleware, which trusts a sampled
// traceparent from a loopback client) joins the trace.
func (s *service) fetchPrice(ctx context.Context, id int) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.pricing+"/pricing/"+strconv.Itoa(id), nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("pricing: %s", resp.Status)
	}
	var p struct{ Price float64 }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, fmt.Errorf("pricing: %w", err)
	}
	return p.Price, nil
}

func (s *service) price(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	_, sp := tracing.Start(r.Context(), "pricing.compute") // nothing unless traced
	time.Sleep(time.Millisecond)
	sp.End()
	s.log.DebugContext(r.Context(), "priced", "id", id)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"price": %d.%02d}`+"\n", 3+id%40, id*7%100)
}

// auditTraced is request_tracing advice as a call site: a //go:noinline
// function whose calls the patch engine turns into a no-op while no request
// is traced (see registerCallSites). Where it cannot patch, the calls just
// run, and the function's own check keeps untraced requests out.
//
//go:noinline
func auditTraced(ctx context.Context, it item) {
	if !tracing.Opted(ctx) {
		return
	}
	tracing.AddEvent(ctx, "audit", attribute.Int("item.id", it.ID), attribute.String("item.name", it.Name))
}
