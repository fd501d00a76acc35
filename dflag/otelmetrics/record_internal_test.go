package otelmetrics

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"bounded.dev/dflag"
)

// TestPatchMetrics feeds events that patched call sites, which only the
// call-site engine produces, to the recorder.
func TestPatchMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	r, err := newRecorder(mp.Meter(ScopeName))
	if err != nil {
		t.Fatal(err)
	}
	r.record(dflag.Event{Op: dflag.OpDeactivate, Kind: "k", Matched: 4, Flipped: 3, Patched: 3, PatchTime: 7 * time.Microsecond})
	r.record(dflag.Event{Op: dflag.OpDeactivate, Matched: 1, Flipped: 1, Patched: 1, PatchTime: 3 * time.Microsecond})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	opAttrs := attribute.NewSet(OpKey.String("deactivate"))
	var sawHist, sawPatched bool
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch md.Name {
			case "dflag.sites.patched":
				for _, dp := range md.Data.(metricdata.Sum[int64]).DataPoints {
					if dp.Attributes.Equals(&opAttrs) && dp.Value == 4 {
						sawPatched = true
					}
				}
			case "dflag.patch.duration":
				for _, dp := range md.Data.(metricdata.Histogram[float64]).DataPoints {
					if !dp.Attributes.Equals(&opAttrs) {
						continue
					}
					sawHist = dp.Count == 2 && dp.Sum > 9.9e-6 && dp.Sum < 10.1e-6 && md.Unit == "s" &&
						len(dp.Bounds) == len(PatchBuckets) && dp.BucketCounts[2] == 1 && dp.BucketCounts[3] == 1
					if !sawHist {
						t.Errorf("histogram: %+v", dp)
					}
				}
			}
		}
	}
	if !sawHist || !sawPatched {
		t.Errorf("histogram %v, sites patched %v in %+v", sawHist, sawPatched, rm)
	}
}
