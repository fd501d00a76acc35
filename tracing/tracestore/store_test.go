package tracestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/html"
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
				record(t, tp, "r")
				s.Traces()
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

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandler(t *testing.T) {
	s := tracestore.New()
	tp := newProvider(s)
	id := record(t, tp, "GET /items/{id}")
	record(t, tp, "POST /orders")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	// HTML: well formed, one section per trace, one bar per span, the error
	// message escaped.
	resp, body := get(t, srv.URL+"/debug/traces")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "class" {
					for _, c := range strings.Fields(a.Val) {
						counts[c]++
					}
				}
				if a.Key == "src" || a.Key == "href" && strings.Contains(a.Val, "//") {
					t.Errorf("external asset %s=%q", a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if counts["trace"] != 2 || counts["bar"] != 8 || counts["err"] != 2 || counts["mark"] != 4 {
		t.Fatalf("element counts %v", counts)
	}
	if strings.Contains(body, "template <broken>") || !strings.Contains(body, "template &lt;broken&gt;") {
		t.Fatal("status message not escaped")
	}
	if strings.Contains(body, "ZgotmplZ") {
		t.Fatal("html/template refused a value")
	}

	// JSON, by query and by Accept.
	for _, c := range []struct{ query, accept string }{{"?format=json", ""}, {"", "application/json"}} {
		resp, body = get(t, srv.URL+"/debug/traces"+c.query, "Accept", c.accept)
		var out struct{ Traces []tracestore.Trace }
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%v %s %.200s", err, resp.Header.Get("Content-Type"), body)
		}
		if len(out.Traces) != 2 || out.Traces[0].Root != "POST /orders" || len(out.Traces[1].Spans) != 4 {
			t.Fatalf("json traces %+v", out.Traces)
		}
	}

	// One trace, in text.
	_, body = get(t, srv.URL+"/debug/traces?format=text&trace="+id.String())
	if !strings.HasPrefix(body, "trace "+id.String()+"  GET /items/{id}") ||
		!strings.Contains(body, "\n      db.rows ") || !strings.Contains(body, "cache miss key=42") ||
		strings.Contains(body, "POST /orders") {
		t.Fatalf("text:\n%s", body)
	}

	for _, c := range []struct {
		url  string
		hdr  []string
		code int
	}{
		{"?trace=00000000000000000000000000000001", nil, 404},
		{"?format=xml", nil, 400},
		{"", []string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"", []string{"Forwarded", "for=203.0.113.9"}, 403},
	} {
		if resp, body := get(t, srv.URL+"/debug/traces"+c.url, c.hdr...); resp.StatusCode != c.code {
			t.Errorf("%s %v: %s %s", c.url, c.hdr, resp.Status, body)
		}
	}
	resp, err = http.Post(srv.URL+"/debug/traces", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %s", resp.Status)
	}
}

func TestHandlerAuthorize(t *testing.T) {
	s := tracestore.New()
	h := s.Handler(tracestore.WithAuthorize(func(r *http.Request) bool { return r.Header.Get("X-Key") == "k" }))
	for _, c := range []struct {
		remote, key string
		code        int
	}{{"127.0.0.1:5", "", 403}, {"203.0.113.9:5", "k", 200}} {
		r := httptest.NewRequest("GET", "/debug/traces", nil)
		r.RemoteAddr = c.remote
		r.Header.Set("X-Key", c.key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.code {
			t.Errorf("%s key %q: %d, want %d", c.remote, c.key, w.Code, c.code)
		}
	}
	// The default rule refuses a remote address.
	r := httptest.NewRequest("GET", "/debug/traces", nil)
	r.RemoteAddr = "203.0.113.9:5"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != 403 {
		t.Fatalf("remote client: %d", w.Code)
	}
	// An empty store says how to get a trace.
	r.RemoteAddr = "[::1]:5"
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "tracing=1") {
		t.Fatalf("empty page: %d %s", w.Code, w.Body)
	}
}

func TestWriteTextTimes(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := tracestore.Trace{TraceID: "t", Root: "r", Start: start, End: start.Add(10 * time.Millisecond), Duration: 10 * time.Millisecond,
		Spans: []tracestore.Span{
			{Name: "r", Start: start, End: start.Add(10 * time.Millisecond), Duration: 10 * time.Millisecond},
			{Name: "half", Depth: 1, Start: start.Add(5 * time.Millisecond), End: start.Add(10 * time.Millisecond), Duration: 5 * time.Millisecond, Status: "Error"},
		}}
	var b strings.Builder
	if err := tracestore.WriteText(&b, []tracestore.Trace{tr}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[1], "|"+strings.Repeat("=", 40)+"|") ||
		!strings.HasSuffix(lines[2], "|"+strings.Repeat(" ", 20)+strings.Repeat("!", 20)+"|") {
		t.Fatalf("bars:\n%s", b.String())
	}
}
