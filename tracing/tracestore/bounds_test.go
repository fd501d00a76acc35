package tracestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// fillToBounds fills a store with default bounds until it holds the
// default number of traces and close to the default number of bytes, with
// attribute values of the longest length kept, and returns the ids of two
// traces at the per-trace bound: one of long values, one of many values
// that escape to four times their size in HTML.
func fillToBounds(t *testing.T, s *tracestore.Store) (bigID, escID string) {
	t.Helper()
	tp := newProvider(s)
	tr := tp.Tracer("fill")
	long := strings.Repeat("<long & escaped> ", tracestore.DefaultMaxValueLen/16)
	// First, traces of many spans each, until the store is full both ways.
	for i := range tracestore.DefaultMaxTraces + 20 {
		ctx, root := tr.Start(context.Background(), "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", "/items/{id}"), attribute.String("url.path", fmt.Sprintf("/items/%d", i)),
				attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
		for j := range 60 {
			_, c := tr.Start(ctx, fmt.Sprintf("db.query %d", j), trace.WithAttributes(attribute.String("db.query.text", long[j:])))
			c.End()
		}
		root.End()
	}
	// Last, one trace at the per-trace bound: 1000 spans offered, with events.
	ctx, big := tr.Start(context.Background(), "GET /big", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/big"), attribute.String("url.path", "/big/"+long)))
	for i := range tracestore.DefaultMaxSpansPerTrace - 1 {
		_, c := tr.Start(ctx, fmt.Sprintf("step %d", i), trace.WithAttributes(attribute.String("a", long), attribute.String("b", long)))
		c.AddEvent("ev", trace.WithAttributes(attribute.String("e", long)))
		c.End()
	}
	big.End()
	ctx, esc := tr.Start(context.Background(), "GET /escapes")
	lt := strings.Repeat("<", 600)
	for range tracestore.DefaultMaxSpansPerTrace - 1 {
		_, c := tr.Start(ctx, "step", trace.WithAttributes(attribute.String("a", lt), attribute.String("b", lt),
			attribute.String("c", lt), attribute.String("d", lt)))
		c.End()
	}
	esc.End()
	if s.Len() < tracestore.DefaultMaxTraces*9/10 || s.Bytes() < tracestore.DefaultMaxBytes*9/10 {
		t.Fatalf("store not full: %d traces, %d bytes", s.Len(), s.Bytes())
	}
	return big.SpanContext().TraceID().String(), esc.SpanContext().TraceID().String()
}

// TestHandlerAtBounds fills a store at its default bounds with long
// attribute values and measures one response of each kind against a real
// loopback server: its body and the memory allocated while serving it
// (server and client together). Before the list paged and streamed, one
// HTML list was 377 MB at these bounds and the JSON one ran out of memory.
func TestHandlerAtBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 64 MB of traces")
	}
	s := tracestore.New()
	bigID, escID := fillToBounds(t, s)
	held := s.Bytes()
	t.Logf("store: %d traces, %d bytes (bound %d)", s.Len(), held, tracestore.DefaultMaxBytes)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	client := srv.Client()

	const maxBody = 6 << 20
	const maxAlloc = 16 << 20
	for _, c := range []struct{ name, query string }{
		{"html list", ""},
		{"html list, last page", "?offset=" + fmt.Sprint(s.Len()-3)},
		{"html list, filtered", "?route=/items/{id}&min=1ns&status=2xx"},
		{"html trace at its bound", "?trace=" + bigID},
		{"html trace of escapes", "?trace=" + escID},
		{"json list", "?format=json"},
		{"json list, 200 a page", "?format=json&limit=200"},
		{"json trace at its bound", "?format=json&trace=" + bigID},
		{"text list", "?format=text&limit=200"},
		{"text trace at its bound", "?format=text&trace=" + bigID},
	} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp, err := client.Get(srv.URL + "/debug/traces" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		runtime.ReadMemStats(&after)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %v", c.name, resp.Status, err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%-26s body %8d bytes, allocated %9d bytes", c.name, n, alloc)
		if n > maxBody || alloc > maxAlloc {
			t.Errorf("%s: body %d bytes (bound %d), allocated %d bytes (bound %d)", c.name, n, maxBody, alloc, maxAlloc)
		}
		if c.name == "html trace of escapes" {
			// Past the page's budget, values are cut short and say so.
			_, body := get(t, srv.URL+"/debug/traces"+c.query)
			if !strings.Contains(body, "(600 bytes in all; the JSON has them)") || !strings.Contains(body, strings.Repeat("&lt;", 63)+"…") {
				t.Error("the escapes page does not cut values past its budget")
			}
		}
		if c.query == "?format=json" {
			// The budget cut the page short and says where it goes on.
			var out struct {
				Traces []tracestore.Trace
				Next   string
			}
			resp, body := get(t, srv.URL+"/debug/traces"+c.query)
			if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 ||
				len(out.Traces) >= tracestore.DefaultDumpSize || out.Next != fmt.Sprintf("?format=json&offset=%d", len(out.Traces)) {
				t.Errorf("json list: %v, %d traces, next %q", err, len(out.Traces), out.Next)
			}
		}
		if n < 1000 {
			t.Errorf("%s: body of %d bytes: nothing served", c.name, n)
		}
	}
}
