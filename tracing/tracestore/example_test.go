package tracestore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"bounded.dev/tracing/tracestore"
)

// Record spans in a store and read them back as the /debug/traces page
// does.
func Example() {
	ctx := context.Background()
	store := tracestore.New()
	// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans would also go to a
	// collector over OTLP.
	tp, err := tracestore.NewTracerProvider(ctx, store)
	if err != nil {
		panic(err)
	}
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
