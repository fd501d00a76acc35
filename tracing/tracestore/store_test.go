package tracestore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// record makes one trace: a server span with two children, one of which
// has a grandchild, an event and an error.
func record(t *testing.T, tp trace.TracerProvider, root string) trace.TraceID {
	t.Helper()
	tr := tp.Tracer("test")
	ctx, sp := tr.Start(context.Background(), root, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/items/{id}"), attribute.Int("n", 7)))
	c1ctx, c1 := tr.Start(ctx, "db.query")
	_, g := tr.Start(c1ctx, "db.rows")
	g.End()
	c1.AddEvent("cache miss", trace.WithAttributes(attribute.String("key", "42")))
	c1.End()
	_, c2 := tr.Start(ctx, "render")
	c2.RecordError(errors.New("template <broken>"))
	c2.SetStatus(codes.Error, "template <broken>")
	c2.End()
	sp.End()
	return sp.SpanContext().TraceID()
}

func newProvider(s *tracestore.Store) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(s))
}

func TestStoreTreeOrder(t *testing.T) {
	s := tracestore.New()
	tp := newProvider(s)
	id := record(t, tp, "GET /items/{id}")
	tr, ok := s.Trace(id.String())
	if !ok {
		t.Fatal("trace not stored")
	}
	var got []string
	for _, sp := range tr.Spans {
		got = append(got, strings.Repeat(".", sp.Depth)+sp.Name)
	}
	want := []string{"GET /items/{id}", ".db.query", "..db.rows", ".render"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("tree order %q, want %q", got, want)
	}
	if tr.Root != "GET /items/{id}" || tr.TraceID != id.String() || tr.Duration <= 0 {
		t.Fatalf("trace header %+v", tr)
	}
	if tr.Spans[0].Kind != "server" || tr.Spans[0].Attributes["n"] != int64(7) {
		t.Fatalf("root span %+v", tr.Spans[0])
	}
	if ev := tr.Spans[1].Events; len(ev) != 1 || ev[0].Name != "cache miss" || ev[0].Attributes["key"] != "42" {
		t.Fatalf("events %+v", ev)
	}
	if tr.Spans[3].Status != "Error" || tr.Spans[3].StatusMessage != "template <broken>" {
		t.Fatalf("status %+v", tr.Spans[3])
	}
	if _, ok := s.Trace("not-hex"); ok {
		t.Fatal("found a trace for an invalid id")
	}
}

func TestStoreBounds(t *testing.T) {
	s := tracestore.New(tracestore.WithMaxTraces(2), tracestore.WithMaxSpansPerTrace(3), tracestore.WithMaxValueLen(16))
	tp := newProvider(s)
	// A trace evicted while in flight: its root, ending late, is dropped
	// rather than shown alone.
	lateCtx, late := tp.Tracer("t").Start(context.Background(), "late root")
	_, child := tp.Tracer("t").Start(lateCtx, "early child")
	child.End()
	first := record(t, tp, "first")
	second := record(t, tp, "second")
	third := record(t, tp, "third")
	if s.Len() != 2 {
		t.Fatalf("Len %d, want 2", s.Len())
	}
	if _, ok := s.Trace(first.String()); ok {
		t.Fatal("the oldest trace was not evicted")
	}
	late.End()
	if _, ok := s.Trace(late.SpanContext().TraceID().String()); ok || s.Len() != 2 {
		t.Fatal("the late root of an evicted trace was stored")
	}
	ts := s.Traces()
	if len(ts) != 2 || ts[0].TraceID != third.String() || ts[1].TraceID != second.String() {
		t.Fatalf("traces %v, want third then second", ts)
	}
	// Children end first: the root is the fourth span and is dropped.
	if ts[0].DroppedSpans != 1 || len(ts[0].Spans) != 3 {
		t.Fatalf("spans %d dropped %d, want 3 and 1", len(ts[0].Spans), ts[0].DroppedSpans)
	}
	_, sp := tp.Tracer("t").Start(context.Background(), "long",
		trace.WithAttributes(attribute.String("v", strings.Repeat("é", 40))))
	sp.End()
	tr, _ := s.Trace(sp.SpanContext().TraceID().String())
	if v := tr.Spans[0].Attributes["v"].(string); len(v) > 16+len("…") || !strings.HasSuffix(v, "…") || !strings.HasPrefix(v, "éé") {
		t.Fatalf("truncated value %q", v)
	}
	// Names and status messages are bounded like values.
	_, sp = tp.Tracer("t").Start(context.Background(), strings.Repeat("n", 100))
	sp.SetStatus(codes.Error, strings.Repeat("m", 100))
	sp.AddEvent(strings.Repeat("e", 100))
	sp.End()
	tr, _ = s.Trace(sp.SpanContext().TraceID().String())
	if got := tr.Spans[0]; len(got.Name) > 16+len("…") || len(got.StatusMessage) > 16+len("…") || len(got.Events[0].Name) > 16+len("…") || tr.Root != got.Name {
		t.Fatalf("long name, message and event kept: %+v", got)
	}
	s.Reset()
	if s.Len() != 0 || len(s.Traces()) != 0 {
		t.Fatal("Reset kept traces")
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := tracestore.New(tracestore.WithMaxTraces(1000))
	tp := newProvider(s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				id := record(t, tp, "r")
				s.Traces()
				if rows, total := s.Search(tracestore.Filter{Status: "error"}, 0, 5); len(rows) == 0 || total == 0 || rows[0].Errors == 0 {
					t.Errorf("Search while recording: %d rows of %d", len(rows), total)
				}
				if tr, ok := s.Trace(id.String()); !ok || len(tr.Spans) != 4 {
					t.Errorf("Trace while recording: %v %d", ok, len(tr.Spans))
				}
			}
		})
	}
	wg.Wait()
	if s.Len() != 160 {
		t.Fatalf("Len %d, want 160", s.Len())
	}
	for _, tr := range s.Traces() {
		if len(tr.Spans) != 4 {
			t.Fatalf("trace with %d spans", len(tr.Spans))
		}
	}
}

// recordHTTP makes a trace shaped like the middleware's: a server root span
// with the HTTP attributes, lasting dur from start, with one child.
func recordHTTP(tp trace.TracerProvider, start time.Time, method, route, path string, status int, dur time.Duration, reqID string, childErr bool) trace.TraceID {
	tr := tp.Tracer("test")
	ctx, sp := tr.Start(context.Background(), method+" "+route, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route),
			attribute.String("url.path", path), attribute.String("request.id", reqID)))
	_, c := tr.Start(ctx, "work", trace.WithTimestamp(start.Add(dur/4)))
	if childErr {
		c.SetStatus(codes.Error, "failed")
	}
	c.End(trace.WithTimestamp(start.Add(dur / 2)))
	sp.SetAttributes(attribute.Int("http.response.status_code", status))
	sp.End(trace.WithTimestamp(start.Add(dur)))
	return sp.SpanContext().TraceID()
}

func TestSearch(t *testing.T) {
	s := tracestore.New()
	tp := newProvider(s)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := recordHTTP(tp, t0, "GET", "/items/{id}", "/items/1", 200, 10*time.Millisecond, "req-a", false)
	b := recordHTTP(tp, t0.Add(time.Second), "GET", "/items/{id}", "/items/2", 503, 300*time.Millisecond, "req-b", true)
	c := recordHTTP(tp, t0.Add(2*time.Second), "POST", "/orders", "/orders", 404, 50*time.Millisecond, "req-c", false)
	ids := func(rows []tracestore.Summary) string {
		var out []string
		for _, r := range rows {
			switch r.TraceID {
			case a.String():
				out = append(out, "a")
			case b.String():
				out = append(out, "b")
			case c.String():
				out = append(out, "c")
			}
		}
		return strings.Join(out, "")
	}
	for _, tc := range []struct {
		f    tracestore.Filter
		want string
	}{
		{tracestore.Filter{}, "cba"},
		{tracestore.Filter{Route: "/items/{id}"}, "ba"},
		{tracestore.Filter{Route: "/items"}, ""},
		{tracestore.Filter{Status: "5xx"}, "b"},
		{tracestore.Filter{Status: "4xx"}, "c"},
		{tracestore.Filter{Status: "2xx"}, "a"},
		{tracestore.Filter{Status: "error"}, "b"},
		{tracestore.Filter{Status: "ok"}, "ca"},
		{tracestore.Filter{MinDuration: 50 * time.Millisecond}, "cb"},
		{tracestore.Filter{RequestID: "req-a"}, "a"},
		{tracestore.Filter{Sort: "longest"}, "bca"},
		{tracestore.Filter{Sort: "longest", Route: "/items/{id}"}, "ba"},
		{tracestore.Filter{Route: "/items/{id}", MinDuration: time.Millisecond, Status: "2xx"}, "a"},
	} {
		rows, total := s.Search(tc.f, 0, 10)
		if got := ids(rows); got != tc.want || total != len(tc.want) {
			t.Errorf("Search(%+v) = %q (%d), want %q", tc.f, got, total, tc.want)
		}
	}
	// A downstream server span is a hop; the root is the parentless span
	// even though it ends, and arrives, last.
	ctx, root := tp.Tracer("t").Start(context.Background(), "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(t0.Add(-time.Hour)))
	cctx, call := tp.Tracer("t").Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient))
	_, down := tp.Tracer("t").Start(cctx, "GET /pricing/{id}", trace.WithSpanKind(trace.SpanKindServer))
	down.End()
	call.End()
	root.End()
	if rows, _ := s.Search(tracestore.Filter{}, 3, 1); len(rows) != 1 || rows[0].Root != "GET /items/{id}" || fmt.Sprint(rows[0].Hops) != "[GET /pricing/{id}]" || rows[0].SpanCount != 3 {
		t.Fatalf("hops: %+v", rows)
	}
	rows, total := s.Search(tracestore.Filter{}, 1, 1)
	if ids(rows) != "b" || total != 4 {
		t.Fatalf("page 2 of 1: %q of %d", ids(rows), total)
	}
	r := rows[0]
	if r.Root != "GET /items/{id}" || r.Method != "GET" || r.Route != "/items/{id}" || r.Path != "/items/2" ||
		r.StatusCode != 503 || r.RequestID != "req-b" || r.SpanCount != 2 || r.Errors != 1 ||
		r.Duration != 300*time.Millisecond || !r.Start.Equal(t0.Add(time.Second)) {
		t.Fatalf("summary %+v", r)
	}
	if rows, total := s.Search(tracestore.Filter{}, 5, 10); len(rows) != 0 || total != 4 {
		t.Fatalf("past the end: %d rows of %d", len(rows), total)
	}
}

// TestStoreMaxBytes checks the byte bound: the store evicts the oldest
// traces to stay under it, and a trace keeps at most 1/32 of it.
func TestStoreMaxBytes(t *testing.T) {
	const maxBytes = 1 << 20
	s := tracestore.New(tracestore.WithMaxBytes(maxBytes))
	tp := newProvider(s)
	big := strings.Repeat("x", 3000)
	tr := tp.Tracer("t")
	var first, last trace.TraceID
	for i := range 100 {
		ctx, root := tr.Start(context.Background(), "root")
		for range 5 {
			_, c := tr.Start(ctx, "child", trace.WithAttributes(attribute.String("v", big)))
			c.End()
		}
		root.End()
		if i == 0 {
			first = root.SpanContext().TraceID()
		}
		last = root.SpanContext().TraceID()
	}
	if s.Bytes() > maxBytes || s.Bytes() < maxBytes/2 {
		t.Fatalf("store holds %d bytes, bound %d", s.Bytes(), maxBytes)
	}
	if _, ok := s.Trace(first.String()); ok {
		t.Fatal("the oldest trace survived")
	}
	if tr, ok := s.Trace(last.String()); !ok || len(tr.Spans) != 6 {
		t.Fatalf("the newest trace: %v %d spans", ok, len(tr.Spans))
	}
	// One trace of 100 such spans is cut at 1/32 of the bound.
	ctx, root := tr.Start(context.Background(), "huge")
	for range 100 {
		_, c := tr.Start(ctx, "child", trace.WithAttributes(attribute.String("v", big)))
		c.End()
	}
	root.End()
	huge, _ := s.Trace(root.SpanContext().TraceID().String())
	if n := len(huge.Spans); n < 5 || n > maxBytes/32/3000 || huge.DroppedSpans != 101-n {
		t.Fatalf("a huge trace kept %d spans, dropped %d", n, huge.DroppedSpans)
	}
	s.Reset()
	if s.Bytes() != 0 {
		t.Fatalf("Reset left %d bytes", s.Bytes())
	}
}
