package tracestore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Record spans in a store and read them back as the /debug/traces page
// does.
func Example() {
	ctx := context.Background()
	store := tracestore.New()
	// otlpenv.NewTracerProvider(ctx, store) would also export over OTLP
	// when OTEL_EXPORTER_OTLP_ENDPOINT is set.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(store))
	defer tp.Shutdown(ctx)

	tracer := tp.Tracer("example")
	ctx, root := tracer.Start(ctx, "GET /items/{id}")
	_, child := tracer.Start(ctx, "db.query")
	child.End()
	root.End()

	for _, t := range store.Traces() {
		fmt.Println(t.Root, len(t.Spans), "spans")
		for _, sp := range t.Spans {
			fmt.Println(sp.Depth, sp.Name)
		}
	}
	// Output:
	// GET /items/{id} 2 spans
	// 0 GET /items/{id}
	// 1 db.query
}

// Mount the page; it serves loopback clients by default.
func ExampleStore_Handler() {
	store := tracestore.New()
	mux := http.NewServeMux()
	mux.Handle("GET /debug/traces", store.Handler())

	r := httptest.NewRequest("GET", "/debug/traces?format=text", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "127.0.0.1:8080"
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 no traces yet: send a request that opts in (for example ?tracing=1)
}

// Find the trace of a response from its Traceresponse header.
func ExampleParseTraceID() {
	id, err := tracestore.ParseTraceID("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	fmt.Println(id, err)
	_, err = tracestore.ParseTraceID("4bf92f35")
	fmt.Println(err)
	// Output:
	// 4bf92f3577b34da6a3ce929d0e0e4736 <nil>
	// "4bf92f35" is not a trace id: want 32 hexadecimal digits or a traceresponse value
}

// List the slow failures, as the page's filters do.
func ExampleStore_Search() {
	store := tracestore.New()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(store))
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, c := range []struct {
		status int
		d      time.Duration
	}{{200, 20 * time.Millisecond}, {503, 900 * time.Millisecond}, {503, 5 * time.Millisecond}} {
		_, sp := tp.Tracer("example").Start(context.Background(), "GET /items/{id}",
			trace.WithTimestamp(start.Add(time.Duration(i)*time.Second)),
			trace.WithAttributes(attribute.String("http.route", "/items/{id}"), attribute.Int("http.response.status_code", c.status)))
		sp.End(trace.WithTimestamp(start.Add(time.Duration(i)*time.Second + c.d)))
	}
	rows, total := store.Search(tracestore.Filter{Status: "5xx", MinDuration: 100 * time.Millisecond}, 0, 10)
	for _, r := range rows {
		fmt.Println(r.Route, r.StatusCode, r.Duration)
	}
	fmt.Println(total, "of", store.Len())
	// Output:
	// /items/{id} 503 900ms
	// 1 of 3
}

// Serve the traces to holders of a token, and to local clients too.
func ExampleWithBearerToken() {
	store := tracestore.New()
	h := store.Handler(tracestore.WithBearerToken("s3cret"), tracestore.WithLocal(),
		tracestore.WithLogger(nil))
	for _, auth := range []string{"", "Bearer s3cret"} {
		r := httptest.NewRequest("GET", "/debug/traces?format=json", nil)
		r.RemoteAddr, r.Host = "203.0.113.9:40000", "traces.example.com"
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 401 tracestore: missing bearer token
	// 200 {"traces": [], "total": 0, "offset": 0}
}

// A malformed parameter is refused with what it accepts.
func ExampleStore_Handler_badQuery() {
	h := tracestore.New().Handler()
	r := httptest.NewRequest("GET", "/debug/traces?status=6xx", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "localhost:8080"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 400 tracestore: status "6xx": use one of 1xx, 2xx, 3xx, 4xx, 5xx, error, ok
}
