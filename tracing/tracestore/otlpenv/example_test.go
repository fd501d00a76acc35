package otlpenv_test

import (
	"context"
	"fmt"

	"bounded.dev/tracing/tracestore"
	"bounded.dev/tracing/tracestore/otlpenv"
)

// Record spans for /debug/traces, and export them too when OTEL_* ask.
func ExampleNewTracerProvider() {
	ctx := context.Background()
	store := tracestore.New()
	tp, err := otlpenv.NewTracerProvider(ctx, store)
	if err != nil {
		fmt.Println(err) // a malformed OTEL_* setting
		return
	}
	defer tp.Shutdown(ctx) // flushes the exported batches

	_, span := tp.Tracer("example").Start(ctx, "GET /items/{id}")
	span.End()
	fmt.Println(store.Len(), "trace")
	// Output: 1 trace
}
