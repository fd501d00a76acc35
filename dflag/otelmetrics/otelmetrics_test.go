package otelmetrics_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"bounded.dev/dflag"
	"bounded.dev/dflag/otelmetrics"
)

var (
	one = dflag.Feature("otel_test", "one", "a feature")
	two = dflag.Default("otel_test", "two")
	_   = dflag.Opt("otel_other", "three")
)

// collect returns the named metrics of the dflag scope.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelmetrics.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sum returns the data point of a counter with exactly attrs, or -1.
func sum(t *testing.T, m map[string]metricdata.Aggregation, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := m[name].(metricdata.Sum[int64])
	if !ok {
		return -1
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return -1
}

func gauge(t *testing.T, m map[string]metricdata.Aggregation, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	g, ok := m[name].(metricdata.Gauge[int64])
	if !ok {
		t.Fatalf("%s is %T", name, m[name])
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range g.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	stop, err := otelmetrics.Start(otelmetrics.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}

	inits := int64(-1) // no data point: Init ran in an earlier run (-count)
	if !dflag.Initialized() {
		inits = 1 // the Opt flag switches off: one flip
	}
	if err := dflag.Init(); err != nil {
		t.Fatal(err)
	}
	dflag.Activate("otel_test:one")   // flips one
	dflag.Activate("otel_test:")      // flips nothing: one was on, two is on
	dflag.Deactivate("otel_test:two") // 2 -> 1: no flip
	dflag.Unhook("otel_other:")
	dflag.Rehook("otel_other:")
	if _, err := dflag.Activate("("); err != nil { // an invalid pattern is not an operation
	} else {
		t.Fatal("invalid pattern accepted")
	}
	release, err := dflag.HoldKind("otel_other")
	if err != nil {
		t.Fatal(err)
	}

	op := func(s string) attribute.KeyValue { return otelmetrics.OpKey.String(s) }
	m := collect(t, reader)
	for _, tc := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"dflag.operations", []attribute.KeyValue{op("init")}, inits},
		{"dflag.operations", []attribute.KeyValue{op("activate")}, 2},
		{"dflag.operations", []attribute.KeyValue{op("deactivate")}, 1},
		{"dflag.operations", []attribute.KeyValue{op("unhook")}, 1},
		{"dflag.operations", []attribute.KeyValue{op("rehook")}, 1},
		{"dflag.operations", []attribute.KeyValue{op("activate"), otelmetrics.KindKey.String("otel_other")}, 1},
		{"dflag.flips", []attribute.KeyValue{op("init")}, inits},
		{"dflag.flips", []attribute.KeyValue{op("activate")}, 2}, // one, then three by the hold
	} {
		if got := sum(t, m, tc.name, tc.attrs...); got != tc.want {
			t.Errorf("%s%v = %d, want %d", tc.name, tc.attrs, got, tc.want)
		}
	}
	if got := sum(t, m, "dflag.flips", op("deactivate")); got != -1 {
		t.Errorf("deactivate flips: %d, want no data point", got)
	}
	if _, ok := m["dflag.sites.patched"]; ok {
		t.Errorf("sites patched without call sites: %v", m["dflag.sites.patched"])
	}

	kind := func(k string) attribute.KeyValue { return otelmetrics.KindKey.String(k) }
	hook := otelmetrics.SiteKey.String("hook")
	if got := gauge(t, m, "dflag.flags", kind("otel_test"), hook); got != 2 {
		t.Errorf("dflag.flags otel_test = %d", got)
	}
	if got := gauge(t, m, "dflag.flags.on", kind("otel_test"), hook); got != 2 {
		t.Errorf("dflag.flags.on otel_test = %d", got)
	}
	if got := gauge(t, m, "dflag.flags.on", kind("otel_other"), hook); got != 1 {
		t.Errorf("dflag.flags.on otel_other = %d", got)
	}
	release()
	dflag.Deactivate("otel_test:one") // activated twice
	dflag.Deactivate("otel_test:one")
	m = collect(t, reader)
	if got := gauge(t, m, "dflag.flags.on", kind("otel_test"), hook); got != 1 || !two.On() || one.On() {
		t.Errorf("dflag.flags.on otel_test = %d after deactivation", got)
	}

	// After stop, nothing more is recorded.
	stop()
	stop()
	dflag.Activate("otel_test:one")
	dflag.Deactivate("otel_test:one")
	after := collect(t, reader)
	if got := sum(t, after, "dflag.operations", op("activate")); got != 2 {
		t.Errorf("activations after stop: %d", got)
	}
	if _, ok := after["dflag.flags.on"]; ok {
		t.Error("gauge still observed after stop")
	}
}
