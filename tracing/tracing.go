package tracing

import (
	"context"
	"slices"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// KindName is the dflag kind of request-tracing advice.
const KindName = "request_tracing"

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "bounded.dev/tracing"

// Kind is the request_tracing kind of advice: the one value through which
// request-tracing advice is declared (Kind.Opt for hook flags,
// Kind.OptCalls for call sites) and activated ([Begin] holds an activation
// of it), as package aspect describes. Its name is [KindName], for dflag's
// string-kind functions and startup terms (DFLAG='!request_tracing:').
var Kind = aspect.New(KindName)

// The hooks behind this package's helpers. This package imports dflag, so
// their On inlines here (see "When On is inlined" in bounded.dev/dflag/lint).
var (
	startHook *dflag.Flag = Kind.Opt("start", "tracing.Start: child spans of traced requests")
	eventHook *dflag.Flag = Kind.Opt("event", "tracing.AddEvent, SetAttributes and RecordError on traced requests")
)

// noSpan is what the helpers return for a request that did not opt in.
var noSpan trace.Span = noop.Span{}

// optedKey marks the context of a request that opted in.
type optedKey struct{}

// Opted reports whether ctx belongs to a request that opted into tracing
// (it descends from a context returned by [Begin]). It is the check that
// follows a request_tracing hook: cheap, but a context lookup, so test the
// flag first.
func Opted(ctx context.Context) bool {
	return ctx.Value(optedKey{}) != nil
}

// Begin marks ctx as opted into tracing and holds one activation of [Kind]
// (every request_tracing flag is on when Begin returns) until end is
// called. end is idempotent; call it, typically with defer, when the work
// that opted in is done, panics included. Package middleware calls Begin
// for HTTP requests; call it directly for other units of work (a job, a
// message), then start their span with [Start].
func Begin(ctx context.Context) (_ context.Context, end func()) {
	release := Kind.Activate()
	return context.WithValue(ctx, optedKey{}, true), release
}

// Start starts a child span of the span in ctx if ctx opted into tracing,
// with the tracer provider of that span (the global provider if ctx holds
// none). Otherwise it returns ctx unchanged and a span that does nothing,
// which is safe to End. It costs a request that did not opt in one hook
// check.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !startHook.On() {
		return ctx, noSpan
	}
	return start(ctx, name, opts)
}

//go:noinline // keeps the caller's fast path inlinable
func start(ctx context.Context, name string, opts []trace.SpanStartOption) (context.Context, trace.Span) {
	if !Opted(ctx) {
		return ctx, noSpan
	}
	return tracer(ctx).Start(ctx, name, slices.Clone(opts)...)
}

// tracer returns the tracer of the span in ctx, or of the global provider.
func tracer(ctx context.Context) trace.Tracer {
	var tp trace.TracerProvider
	if sp := trace.SpanFromContext(ctx); sp.SpanContext().IsValid() {
		tp = sp.TracerProvider()
	} else {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopeName)
}

// AddEvent adds an event to the span in ctx if ctx opted into tracing. It
// costs a request that did not opt in one hook check (and building attrs).
func AddEvent(ctx context.Context, name string, attrs ...attribute.KeyValue) {
	if eventHook.On() {
		addEvent(ctx, name, attrs)
	}
}

//go:noinline // keeps the caller's fast path inlinable
func addEvent(ctx context.Context, name string, attrs []attribute.KeyValue) {
	if Opted(ctx) {
		trace.SpanFromContext(ctx).AddEvent(name, trace.WithAttributes(slices.Clone(attrs)...))
	}
}

// SetAttributes sets attributes on the span in ctx if ctx opted into
// tracing. It costs a request that did not opt in one hook check.
func SetAttributes(ctx context.Context, attrs ...attribute.KeyValue) {
	if eventHook.On() {
		setAttributes(ctx, attrs)
	}
}

//go:noinline // keeps the caller's fast path inlinable
func setAttributes(ctx context.Context, attrs []attribute.KeyValue) {
	if Opted(ctx) {
		trace.SpanFromContext(ctx).SetAttributes(slices.Clone(attrs)...)
	}
}

// RecordError records err as an exception event on the span in ctx and
// sets the span's status to Error, if ctx opted into tracing and err is not
// nil. It costs a request that did not opt in one hook check.
func RecordError(ctx context.Context, err error) {
	if eventHook.On() && err != nil {
		recordError(ctx, err)
	}
}

//go:noinline // keeps the caller's fast path inlinable
func recordError(ctx context.Context, err error) {
	if Opted(ctx) {
		sp := trace.SpanFromContext(ctx)
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
}
