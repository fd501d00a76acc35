package tracestore

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The default bounds of a [Store].
const (
	DefaultMaxTraces        = 256      // traces kept; the oldest is evicted first
	DefaultMaxSpansPerTrace = 1000     // spans kept per trace; later ones are counted as dropped
	DefaultMaxValueLen      = 4096     // bytes kept of a string attribute value
	DefaultMaxBytes         = 64 << 20 // bytes of span data kept in all; a trace keeps at most 1/32 of it
)

// Store is an in-memory, bounded [sdktrace.SpanExporter] that groups spans
// by trace. It is safe for concurrent use. Register it with a synchronous
// span processor ([sdktrace.WithSyncer], as [bounded.dev/tracing/tracestore/otlpenv.NewTracerProvider] does) so that
// a trace is visible as soon as its spans end.
type Store struct {
	maxTraces   int
	maxSpans    int
	maxValueLen int
	maxBytes    int // of all traces together
	maxTrace    int // bytes of one trace: maxBytes/32

	bytes int // held, as estimated by spanSize; guarded by mu

	mu     sync.Mutex
	traces map[trace.TraceID]*entry
	order  []trace.TraceID // arrival order, oldest first
	// gone remembers the last 4*maxTraces evicted traces, so that their late
	// spans (a parent ends after its children) are dropped rather than
	// shown as a fragment of a trace.
	gone      map[trace.TraceID]struct{}
	goneOrder []trace.TraceID
}

// entry is one trace as stored.
type entry struct {
	id      trace.TraceID
	spans   []Span
	dropped int
	bytes   int

	// Kept up to date as spans arrive, so that the list needs no snapshot.
	start, end time.Time
	root       int   // index in spans of the root (earliest start, parentless first)
	errors     int   // spans with status Error
	servers    []int // indices of the first server spans (at most maxHops+1), for Summary.Hops
}

// Option configures a [Store].
type Option func(*Store)

// WithMaxTraces sets how many traces the store keeps (at least 1); when a
// new trace arrives at the limit, the trace that arrived first is evicted,
// and spans of it that arrive later are dropped.
func WithMaxTraces(n int) Option { return func(s *Store) { s.maxTraces = max(n, 1) } }

// WithMaxSpansPerTrace sets how many spans the store keeps per trace (at
// least 1); later spans of a full trace are counted in [Trace.DroppedSpans].
func WithMaxSpansPerTrace(n int) Option { return func(s *Store) { s.maxSpans = max(n, 1) } }

// WithMaxValueLen sets how many bytes of a string attribute value the store
// keeps (at least 16); longer values are truncated and marked with "…".
func WithMaxValueLen(n int) Option { return func(s *Store) { s.maxValueLen = max(n, 16) } }

// WithMaxBytes bounds the span data the store keeps, as estimated from its
// strings plus a fixed overhead per span, attribute and event (at least 64
// KiB; default [DefaultMaxBytes]). When a new span takes the store over the
// bound, the oldest traces are evicted; a trace keeps at most 1/32 of the
// bound, and its later spans are counted in [Trace.DroppedSpans]. This is
// what bounds the memory of the store, and the size of one trace's page.
func WithMaxBytes(n int) Option { return func(s *Store) { s.maxBytes = max(n, 64<<10) } }

// New returns an empty store with the default bounds unless opts say
// otherwise.
func New(opts ...Option) *Store {
	s := &Store{
		maxTraces:   DefaultMaxTraces,
		maxSpans:    DefaultMaxSpansPerTrace,
		maxValueLen: DefaultMaxValueLen,
		maxBytes:    DefaultMaxBytes,
		traces:      make(map[trace.TraceID]*entry),
		gone:        make(map[trace.TraceID]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.maxTrace = s.maxBytes / 32
	return s
}

// Trace is one stored trace: its summary and its spans.
type Trace struct {
	Summary
	Spans []Span `json:"spans"` // depth first, siblings by start time
}

// Summary is what the list of traces shows of one trace. The HTTP fields
// come from the root span's attributes (http.request.method, http.route,
// url.path, http.response.status_code and request.id, as the tracing
// middleware sets them) and are empty when it has none.
type Summary struct {
	TraceID      string        `json:"trace_id"`
	Root         string        `json:"root"` // name of the root span: the earliest, parentless ones first
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	Duration     time.Duration `json:"duration_ns"`
	Method       string        `json:"method,omitempty"`
	Route        string        `json:"route,omitempty"`
	Path         string        `json:"path,omitempty"`
	StatusCode   int           `json:"status_code,omitempty"`
	RequestID    string        `json:"request_id,omitempty"`
	SpanCount    int           `json:"span_count"`       // spans held
	Errors       int           `json:"errors,omitempty"` // spans with status Error
	DroppedSpans int           `json:"dropped_spans,omitempty"`
	// Hops names the server spans below the root (the trace's other
	// services or hops through this one), the first [MaxHops] of them.
	Hops []string `json:"hops,omitempty"`
}

// MaxHops is how many names [Summary.Hops] holds at most.
const MaxHops = 4

// Span is one stored span.
type Span struct {
	SpanID        string         `json:"span_id"`
	ParentSpanID  string         `json:"parent_span_id,omitempty"`
	RemoteParent  bool           `json:"remote_parent,omitempty"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	Scope         string         `json:"scope,omitempty"`
	Start         time.Time      `json:"start"`
	End           time.Time      `json:"end"`
	Duration      time.Duration  `json:"duration_ns"`
	Depth         int            `json:"depth"`  // 0 for a root (no parent in the trace)
	Status        string         `json:"status"` // "Unset", "Error" or "Ok"
	StatusMessage string         `json:"status_message,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
	Events        []Event        `json:"events,omitempty"`
	Links         int            `json:"links,omitempty"`
}

// Event is one span event.
type Event struct {
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// ExportSpans stores spans; it implements [sdktrace.SpanExporter] and never
// fails.
func (s *Store) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	converted := make([]Span, len(spans))
	sizes := make([]int, len(spans))
	for i, sp := range spans {
		converted[i] = s.convert(sp)
		sizes[i] = spanSize(&converted[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sp := range spans {
		id := sp.SpanContext().TraceID()
		e := s.traces[id]
		if e == nil {
			if _, ok := s.gone[id]; ok {
				continue // the rest of an evicted trace
			}
			for len(s.order) >= s.maxTraces {
				s.evictLocked()
			}
			e = &entry{id: id}
			s.traces[id] = e
			s.order = append(s.order, id)
		}
		if len(e.spans) >= s.maxSpans || e.bytes+sizes[i] > s.maxTrace {
			e.dropped++
			continue
		}
		e.add(converted[i], sizes[i])
		s.bytes += sizes[i]
		for s.bytes > s.maxBytes && len(s.order) > 1 {
			s.evictLocked() // possibly e itself, when it is the oldest
		}
	}
	return nil
}

// add appends a span and updates the running summary.
func (e *entry) add(sp Span, size int) {
	i := len(e.spans)
	e.spans = append(e.spans, sp)
	e.bytes += size
	if sp.Status == "Error" {
		e.errors++
	}
	if i == 0 {
		e.start, e.end = sp.Start, sp.End
	} else {
		if sp.Start.Before(e.start) {
			e.start = sp.Start
		}
		if sp.End.After(e.end) {
			e.end = sp.End
		}
		if rootBefore(&sp, &e.spans[e.root]) {
			e.root = i
		}
	}
	if sp.Kind == "server" && len(e.servers) <= MaxHops {
		e.servers = append(e.servers, i)
	}
}

// rootBefore reports whether a makes a better root than b: a span without a
// parent beats one with a remote parent, which beats one with a parent in
// the trace; then the earlier start wins.
func rootBefore(a, b *Span) bool {
	rank := func(sp *Span) int {
		switch {
		case sp.ParentSpanID == "":
			return 0
		case sp.RemoteParent:
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a.Start.Before(b.Start)
}

// summary returns the entry's summary; s.mu must be held.
func (e *entry) summary() Summary {
	sum := Summary{
		TraceID: e.id.String(), Start: e.start, End: e.end, Duration: e.end.Sub(e.start),
		SpanCount: len(e.spans), Errors: e.errors, DroppedSpans: e.dropped,
	}
	if len(e.spans) == 0 {
		return sum
	}
	root := &e.spans[e.root]
	sum.Root = root.Name
	str := func(k string) string { v, _ := root.Attributes[k].(string); return v }
	sum.Method, sum.Route, sum.Path, sum.RequestID = str("http.request.method"), str("http.route"), str("url.path"), str("request.id")
	if m := str("http.request.method_original"); m != "" {
		sum.Method = m
	}
	if c, ok := root.Attributes["http.response.status_code"].(int64); ok && c > 0 && c < 1000 {
		sum.StatusCode = int(c)
	}
	for _, i := range e.servers {
		if i != e.root && len(sum.Hops) < MaxHops {
			sum.Hops = append(sum.Hops, e.spans[i].Name)
		}
	}
	return sum
}

// spanSize estimates the bytes a stored span holds.
func spanSize(sp *Span) int {
	n := 256 + len(sp.SpanID) + len(sp.ParentSpanID) + len(sp.Name) + len(sp.Kind) + len(sp.Scope) + len(sp.StatusMessage)
	n += attrsSize(sp.Attributes)
	for _, ev := range sp.Events {
		n += 64 + len(ev.Name) + attrsSize(ev.Attributes)
	}
	return n
}

func attrsSize(m map[string]any) int {
	n := 0
	for k, v := range m {
		n += 48 + len(k)
		switch v := v.(type) {
		case string:
			n += len(v)
		case []string:
			for _, s := range v {
				n += 16 + len(s)
			}
		case []bool:
			n += len(v)
		case []int64:
			n += 8 * len(v)
		}
	}
	return n
}

// evictLocked forgets the oldest trace; s.mu must be held.
func (s *Store) evictLocked() {
	id := s.order[0]
	s.bytes -= s.traces[id].bytes
	delete(s.traces, id)
	s.order = slices.Delete(s.order, 0, 1)
	if len(s.goneOrder) >= 4*s.maxTraces {
		delete(s.gone, s.goneOrder[0])
		s.goneOrder = slices.Delete(s.goneOrder, 0, 1)
	}
	s.gone[id] = struct{}{}
	s.goneOrder = append(s.goneOrder, id)
}

// Shutdown implements [sdktrace.SpanExporter]. It does nothing: the store
// keeps serving what it holds, and keeps accepting spans.
func (s *Store) Shutdown(context.Context) error { return nil }

// Reset forgets every trace.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.traces)
	clear(s.gone)
	s.bytes = 0
	s.order = s.order[:0]
	s.goneOrder = s.goneOrder[:0]
}

// Len returns the number of traces held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Bytes returns the estimated size of the span data held, which
// [WithMaxBytes] bounds.
func (s *Store) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Traces returns a copy of the traces held, the most recently started
// first. The copy shares the spans' attribute maps with the store (treat them
// as read-only) but still costs a [Span] per span held: to list traces use
// [Store.Search], and to read one [Store.Trace].
func (s *Store) Traces() []Trace {
	s.mu.Lock()
	ts := make([]Trace, 0, len(s.order))
	for _, id := range s.order {
		ts = append(ts, s.traces[id].snapshot())
	}
	s.mu.Unlock()
	slices.SortStableFunc(ts, func(a, b Trace) int { return b.Start.Compare(a.Start) })
	return ts
}

// Trace returns the trace with the given id (32 hexadecimal digits), if the
// store holds it.
func (s *Store) Trace(traceID string) (Trace, bool) {
	id, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		return Trace{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.traces[id]
	if e == nil {
		return Trace{}, false
	}
	return e.snapshot(), true
}

// snapshot builds the trace in tree order; s.mu must be held. The spans
// themselves are never modified once stored, so they are shared.
func (e *entry) snapshot() Trace {
	t := Trace{Summary: e.summary()}
	if len(e.spans) == 0 {
		return t
	}
	byID := make(map[string]bool, len(e.spans))
	for _, sp := range e.spans {
		byID[sp.SpanID] = true
	}
	children := make(map[string][]Span, len(e.spans))
	var roots []Span
	for _, sp := range e.spans {
		if sp.ParentSpanID != "" && byID[sp.ParentSpanID] && sp.ParentSpanID != sp.SpanID {
			children[sp.ParentSpanID] = append(children[sp.ParentSpanID], sp)
		} else {
			roots = append(roots, sp)
		}
	}
	byStart := func(a, b Span) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.SpanID, b.SpanID))
	}
	t.Spans = make([]Span, 0, len(e.spans))
	var walk func(sp Span, depth int)
	walk = func(sp Span, depth int) {
		sp.Depth = depth
		t.Spans = append(t.Spans, sp)
		kids := children[sp.SpanID]
		delete(children, sp.SpanID) // a cycle cannot recurse forever
		slices.SortFunc(kids, byStart)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	slices.SortFunc(roots, byStart)
	for _, r := range roots {
		walk(r, 0)
	}
	// Spans left in children belong to a parent cycle; show them as roots.
	for _, kids := range children {
		for _, k := range kids {
			walk(k, 0)
		}
	}
	return t
}

// convert copies what the page shows out of an SDK span.
func (s *Store) convert(sp sdktrace.ReadOnlySpan) Span {
	out := Span{
		SpanID:        sp.SpanContext().SpanID().String(),
		Name:          s.truncate(sp.Name()),
		Kind:          sp.SpanKind().String(),
		Scope:         sp.InstrumentationScope().Name,
		Start:         sp.StartTime(),
		End:           sp.EndTime(),
		Duration:      sp.EndTime().Sub(sp.StartTime()),
		Status:        sp.Status().Code.String(),
		StatusMessage: s.truncate(sp.Status().Description),
		Attributes:    s.attributes(sp.Attributes()),
		Links:         len(sp.Links()),
	}
	if p := sp.Parent(); p.SpanID().IsValid() {
		out.ParentSpanID = p.SpanID().String()
		out.RemoteParent = p.IsRemote()
	}
	for _, ev := range sp.Events() {
		out.Events = append(out.Events, Event{Name: s.truncate(ev.Name), Time: ev.Time, Attributes: s.attributes(ev.Attributes)})
	}
	return out
}

func (s *Store) attributes(kvs []attribute.KeyValue) map[string]any {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		var v any
		switch kv.Value.Type() {
		case attribute.BOOL, attribute.INT64, attribute.BOOLSLICE, attribute.INT64SLICE:
			v = kv.Value.AsInterface()
		case attribute.FLOAT64:
			f := kv.Value.AsFloat64()
			v = f
			if math.IsNaN(f) || math.IsInf(f, 0) { // not representable in JSON
				v = kv.Value.Emit()
			}
		case attribute.STRING:
			v = s.truncate(kv.Value.AsString())
		case attribute.STRINGSLICE:
			ss := kv.Value.AsStringSlice()
			for i := range ss {
				ss[i] = s.truncate(ss[i])
			}
			v = ss
		default:
			v = s.truncate(kv.Value.Emit())
		}
		m[string(kv.Key)] = v
	}
	return m
}

func (s *Store) truncate(v string) string {
	if len(v) <= s.maxValueLen {
		return v
	}
	cut := s.maxValueLen
	for cut > 0 && v[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return v[:cut] + "…"
}
