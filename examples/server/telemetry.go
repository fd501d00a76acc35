package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"bounded.dev/dflag/otelmetrics"
	"bounded.dev/tracing/tracestore"
	"bounded.dev/tracing/tracestore/otlpenv"
	"github.com/google/uuid"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// serviceName is the service.name when neither OTEL_SERVICE_NAME nor
// OTEL_RESOURCE_ATTRIBUTES names the service.
const serviceName = "bounded-example"

// telemetry is the service's OpenTelemetry set-up: one resource, the
// tracer provider (recent traces in memory, OTLP when asked), the meter
// provider (Prometheus text at /metrics, OTLP when asked) and the dflag
// metrics.
type telemetry struct {
	res      *resource.Resource
	store    *tracestore.Store
	meters   *sdkmetric.MeterProvider // also given to the fleet bridge
	metrics  http.Handler             // Prometheus text format
	shutdown func(context.Context) error
}

// newResource describes this process: service.name (serviceName unless
// the environment names it), a fresh service.instance.id, the SDK, and
// whatever OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say, which win.
func newResource(ctx context.Context) (*resource.Resource, error) {
	return resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(serviceName), semconv.ServiceInstanceID(uuid.NewString())),
		resource.WithFromEnv(), // later detectors win: the environment overrides the defaults above
	)
}

// metricsOTLPRequested reports whether the standard environment variables
// ask for metrics to be exported (the rule otlpenv.Requested
// applies to traces): OTEL_METRICS_EXPORTER set to anything but "none", or
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT set.
// Unlike autoexport's default, nothing is exported when none is set.
func metricsOTLPRequested() bool {
	switch os.Getenv("OTEL_METRICS_EXPORTER") {
	case "none":
		return false
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
			os.Getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != ""
	}
	return true
}

// newTelemetry sets up the providers, makes them global, routes
// OpenTelemetry's internal errors to logger and starts the dflag metrics.
// Call shutdown when done: it flushes the exporters and returns what they
// failed to do.
func newTelemetry(ctx context.Context, logger *slog.Logger) (_ *telemetry, err error) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "err", err)
	}))
	res, err := newResource(ctx)
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES: say so, keep what parsed.
		if res == nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
		logger.Warn("resource attributes from the environment partly ignored", "err", err)
	}
	var closers []func(context.Context) error
	t := &telemetry{res: res, store: tracestore.New()}
	t.shutdown = func(ctx context.Context) error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i](ctx))
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			t.shutdown(context.Background())
		}
	}()

	// Traces: the embedded store, served at /debug/traces, and OTLP when
	// the environment asks for it.
	tp, err := otlpenv.NewTracerProvider(ctx, t.store, sdktrace.WithResource(res))
	if err != nil {
		return nil, err
	}
	closers = append(closers, named("tracer provider", tp.Shutdown))
	otel.SetTracerProvider(tp)
	if otlpenv.Requested() {
		logger.Info("exporting traces over OTLP as the OTEL_* environment says")
	}

	// Metrics: Prometheus text at /metrics, from a registry of our own,
	// and OTLP when the environment asks for it.
	reg := promclient.NewRegistry()
	prom, err := prometheus.New(prometheus.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}
	if metricsOTLPRequested() {
		r, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			return nil, fmt.Errorf("metric exporter: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(r))
		logger.Info("exporting metrics over OTLP as the OTEL_* environment says")
	}
	mp := sdkmetric.NewMeterProvider(mopts...)
	t.meters = mp
	closers = append(closers, named("meter provider", mp.Shutdown))
	otel.SetMeterProvider(mp)
	t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})

	stop, err := otelmetrics.Start(otelmetrics.WithMeterProvider(mp))
	if err != nil {
		return nil, fmt.Errorf("dflag metrics: %w", err)
	}
	closers = append(closers, func(context.Context) error { stop(); return nil })
	return t, nil
}

// named prefixes the error of a shutdown function.
func named(what string, shutdown func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := shutdown(ctx); err != nil {
			return fmt.Errorf("%s shutdown: %w", what, err)
		}
		return nil
	}
}

// shutdownTimeout bounds how long the exporters may take to flush.
var shutdownTimeout = 5 * time.Second
