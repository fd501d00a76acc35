// Package otlpenv exports spans where the standard OpenTelemetry
// environment variables say, next to the in-memory [tracestore.Store]. It
// holds the one dependency of the trace store's setup that is heavy: the
// contrib autoexport package, which links the OTLP exporters over HTTP and
// gRPC and, through its metric readers, Prometheus. A program that serves
// /debug/traces without exporting anything needs only tracestore and the
// SDK:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(store))
//
// and one that also exports as OTEL_* ask uses this package:
//
//	tp, err := otlpenv.NewTracerProvider(ctx, store)
package otlpenv

import (
	"context"
	"fmt"
	"os"

	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Requested reports whether the standard environment variables ask for
// spans to be exported: OTEL_TRACES_EXPORTER is set to anything but "none",
// or OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set (the exporter is then OTLP, over http/protobuf unless
// OTEL_EXPORTER_OTLP_PROTOCOL or OTEL_EXPORTER_OTLP_TRACES_PROTOCOL says
// "grpc").
func Requested() bool {
	switch os.Getenv("OTEL_TRACES_EXPORTER") {
	case "none":
		return false
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
			os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	}
	return true
}

// SpanExporter returns the exporter the environment asks for (see
// [Requested]), built by [autoexport.NewSpanExporter]: OTLP over HTTP or
// gRPC, or "console". It returns nil and no error when the environment
// asks for none, and an error that names the variables when they are
// wrong (an unknown OTEL_TRACES_EXPORTER, for example).
func SpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if !Requested() {
		return nil, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlpenv: span exporter from the environment (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*): %w", err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return nil, nil
	}
	return exp, nil
}

// NewTracerProvider returns an OpenTelemetry SDK tracer provider that
// records every span it samples in store, synchronously, so that a trace
// shows at /debug/traces as soon as its request has ended, and, when the
// environment asks for it ([SpanExporter]), also exports every span in
// batches. opts are applied after these, so they may add processors, a
// resource or a sampler; without a sampler the SDK's default applies
// (parent-based, always on, or OTEL_TRACES_SAMPLER).
//
// Shut the provider down before the program exits so that the batches are
// flushed. With a nil store the provider only exports, as configured by
// the environment.
func NewTracerProvider(ctx context.Context, store *tracestore.Store, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	var base []sdktrace.TracerProviderOption
	if store != nil {
		base = append(base, sdktrace.WithSyncer(store))
	}
	exp, err := SpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	if exp != nil {
		base = append(base, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(append(base, opts...)...), nil
}
