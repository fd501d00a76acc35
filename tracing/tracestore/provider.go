package tracestore

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLPRequested reports whether the standard environment variables ask for
// spans to be exported: OTEL_TRACES_EXPORTER is set to anything but "none",
// or OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set (the exporter is then OTLP, over http/protobuf unless
// OTEL_EXPORTER_OTLP_PROTOCOL or OTEL_EXPORTER_OTLP_TRACES_PROTOCOL says
// "grpc").
//
// Deprecated: use [bounded.dev/tracing/tracestore/otlpenv.Requested], which means the same.
func OTLPRequested() bool {
	switch os.Getenv("OTEL_TRACES_EXPORTER") {
	case "none":
		return false
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
			os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	}
	return true
}

// NewTracerProvider returns an OpenTelemetry SDK tracer provider that
// records every span it samples in store, synchronously, so that a trace
// shows at /debug/traces as soon as its request has ended. When
// [OTLPRequested], it also exports every span through the exporter
// [autoexport.NewSpanExporter] builds from the environment (OTLP over HTTP
// or gRPC, or "console"), in batches. opts are applied after these, so they
// may add processors, a resource or a sampler; without a sampler the SDK's
// default applies (parent-based, always on, or OTEL_TRACES_SAMPLER).
//
// Shut the provider down before the program exits so that the batches are
// flushed. The store is nil-safe: with a nil store the provider only
// exports, as configured by the environment.
//
// Deprecated: use [bounded.dev/tracing/tracestore/otlpenv.NewTracerProvider], which does the same. It is
// the only part of tracestore that needs the contrib autoexport package,
// and with it the OTLP exporters, gRPC and Prometheus; once no caller is
// left it goes, and tracestore's build needs only the SDK. A program that
// exports nothing needs neither: sdktrace.NewTracerProvider(sdktrace.WithSyncer(store)).
func NewTracerProvider(ctx context.Context, store *Store, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	var base []sdktrace.TracerProviderOption
	if store != nil {
		base = append(base, sdktrace.WithSyncer(store))
	}
	if OTLPRequested() {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("tracestore: span exporter from the environment: %w", err)
		}
		if !autoexport.IsNoneSpanExporter(exp) {
			base = append(base, sdktrace.WithBatcher(exp))
		}
	}
	return sdktrace.NewTracerProvider(append(base, opts...)...), nil
}
