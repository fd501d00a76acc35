package otelmetrics_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"bounded.dev/dflag"
	"bounded.dev/dflag/otelmetrics"
)

var exampleFlag = dflag.Feature("otel_example", "verbose", "log every step")

func Example() {
	// In a program, set up the global MeterProvider (otel.SetMeterProvider)
	// and call otelmetrics.Start() without options.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	stop, err := otelmetrics.Start(otelmetrics.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	defer stop()

	dflag.Activate("otel_example:verbose")
	dflag.Deactivate("otel_example:verbose")

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, dp := range s.DataPoints {
				if op, ok := dp.Attributes.Value(otelmetrics.OpKey); ok {
					fmt.Println(m.Name, op.AsString(), dp.Value)
				}
			}
		}
	}
	// Unordered output:
	// dflag.operations activate 1
	// dflag.operations deactivate 1
	// dflag.flips activate 1
	// dflag.flips deactivate 1
}
