package tracing_test

import (
	"context"
	"fmt"
	"log/slog"

	"bounded.dev/dflag"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// traceQuery is advice of the request_tracing kind: on while a traced
// request is in flight, off (one load and a branch) otherwise. The type is
// spelled out so that the package imports dflag, where On inlines.
var traceQuery *dflag.Flag = tracing.Kind.Opt("example_query", "SQL text of traced requests")

func query(ctx context.Context, sql string) {
	if traceQuery.On() && tracing.Opted(ctx) { // the flag first, the request second
		tracing.AddEvent(ctx, "query", attribute.String("db.query.text", sql))
	}
	// ... run the query ...
}

// Trace a unit of work that is not an HTTP request: Begin holds the
// request_tracing advice on until end is called.
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))

	ctx, end := tracing.Begin(context.Background())
	ctx, span := tp.Tracer("jobs").Start(ctx, "nightly report")
	query(ctx, "SELECT 1")
	_, child := tracing.Start(ctx, "render")
	child.End()
	span.End()
	end()

	query(context.Background(), "SELECT 2") // not traced: nothing recorded

	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, len(s.Events), "events")
	}
	// Output:
	// render 0 events
	// nightly report 1 events
}

// Log records of traced requests become span events, debug level included,
// while the usual handler keeps its level.
func ExampleNewLogHandler() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	logger := slog.New(tracing.NewLogHandler(slog.DiscardHandler))

	ctx, end := tracing.Begin(context.Background())
	ctx, span := tp.Tracer("example").Start(ctx, "request")
	logger.DebugContext(ctx, "cache miss", "key", "item:42")
	span.End()
	end()

	ev := exp.GetSpans()[0].Events[0]
	fmt.Println(ev.Name, ev.Attributes[0].Value.AsString())
	// Output:
	// cache miss DEBUG
}

// The helpers do nothing for a context that did not opt in, and record for
// one that did: Start gives a child span, AddEvent an event on it.
func ExampleStart() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))

	load := func(ctx context.Context) {
		ctx, span := tracing.Start(ctx, "load item")
		defer span.End()
		tracing.AddEvent(ctx, "cache miss", attribute.Int("item.id", 42))
	}

	load(context.Background()) // not traced: a no-op span, nothing recorded

	ctx, end := tracing.Begin(context.Background())
	ctx, root := tp.Tracer("example").Start(ctx, "request")
	load(ctx)
	root.End()
	end()

	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, len(s.Events))
	}
	// Output:
	// load item 1
	// request 0
}
