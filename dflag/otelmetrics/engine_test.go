package otelmetrics_test

import (
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"bounded.dev/dflag"
	"bounded.dev/dflag/otelmetrics"
)

var engineCalls int

//go:noinline
func engineTarget() { engineCalls++ }

// callEngineTarget holds the call sites the test registers.
func callEngineTarget() {
	engineTarget()
	engineTarget()
}

// registerOnce registers the call sites once per test binary (-count).
var registerOnce = sync.OnceValues(func() (int, error) {
	return dflag.DefaultCalls("otel_engine", "target", engineTarget, "call sites of the engine metrics test")
})

// TestEngineMetrics: switching real call sites off and on shows in the
// engine's counters (bytes written, batches, mprotect calls).
func TestEngineMetrics(t *testing.T) {
	if err := dflag.PatchStatus(); err != nil {
		t.Skipf("the engine cannot patch here: %v", err)
	}
	n, err := registerOnce()
	if err != nil || n != 2 {
		t.Fatalf("DefaultCalls: %d sites, %v", n, err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(t.Context())
	stop, err := otelmetrics.Start(otelmetrics.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	counter := func(m map[string]metricdata.Aggregation, name string) int64 {
		s, ok := m[name].(metricdata.Sum[int64])
		if !ok || len(s.DataPoints) != 1 || !s.IsMonotonic {
			t.Fatalf("%s: %+v", name, m[name])
		}
		return s.DataPoints[0].Value
	}
	names := []string{"dflag.engine.code.written", "dflag.engine.batches", "dflag.engine.mprotects", "dflag.engine.pages"}
	before := map[string]int64{}
	m := collect(t, reader)
	for _, name := range names {
		before[name] = counter(m, name)
	}
	if _, err := dflag.Deactivate("otel_engine:target@"); err != nil {
		t.Fatal(err)
	}
	engineCalls = 0
	callEngineTarget()
	if engineCalls != 0 {
		t.Fatalf("%d calls ran with the sites switched off", engineCalls)
	}
	if _, err := dflag.Activate("otel_engine:target@"); err != nil {
		t.Fatal(err)
	}
	m = collect(t, reader)
	for _, name := range names {
		got := counter(m, name) - before[name]
		want := int64(2) // two rewrites (off, on), each of at least one byte, page and mprotect pair
		if name == "dflag.engine.code.written" {
			want = 4 // two sites, twice
		}
		if got < want {
			t.Errorf("%s grew by %d, want at least %d", name, got, want)
		}
	}
	if g, ok := m["dflag.engine.index.size"].(metricdata.Gauge[int64]); !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value <= 0 {
		t.Errorf("dflag.engine.index.size: %+v", m["dflag.engine.index.size"])
	}
}
