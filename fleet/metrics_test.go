package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"bounded.dev/fleet/etcdtest"
)

// readMetrics collects the bridge's instruments through a real SDK reader.
func readMetrics(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "bounded.dev/fleet" {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] += p.Value
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += float64(p.Value)
				}
			}
		}
	}
	return out
}

func TestMetricsAndStatusEndpoint(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	countHolds(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	cfg, _ := testConfig(t, proxy.Addr())
	cfg.MeterProvider = mp
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	te.Put(p+"b", "+advice:b")
	b := startBridge(t, cfg)

	// On a loaded machine the bridge may find its fresh connection not yet
	// ready after the first read and read again, briefly reporting itself
	// disconnected: wait for the connected state, then check the gauges.
	var m map[string]float64
	eventually(t, 5*time.Second, "connected metrics", func() bool {
		m = readMetrics(t, reader)
		return m["dflag.fleet.connected"] == 1 && m["dflag.fleet.keys"] == 2 && m["dflag.fleet.sync.age"] == 0
	})
	te.Put(p+"a", "-(")
	eventually(t, 5*time.Second, "refusal", func() bool { ks, _ := keyStatus(b, p+"a"); return ks.Refused != "" })
	if m := readMetrics(t, reader); m["dflag.fleet.refused"] != 1 {
		t.Errorf("refused counter: %v", m)
	}

	// The status endpoint.
	srv := httptest.NewServer(b)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || !st.Connected || len(st.Keys) != 2 || st.Keys[0].Refused != "-(" || st.Keys[0].Terms[0] != "-breaker:a" {
		t.Errorf("status JSON: %+v, %v", st, err)
	}
	if resp, err := http.Post(srv.URL, "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the status endpoint: %v, %v", resp.Status, err)
	}

	proxy.Cut()
	eventually(t, 5*time.Second, "disconnection", func() bool { return !b.Connected() })
	time.Sleep(200 * time.Millisecond)
	m = readMetrics(t, reader)
	if m["dflag.fleet.connected"] != 0 || m["dflag.fleet.sync.age"] < 0.2 || m["dflag.fleet.keys"] != 2 {
		t.Errorf("metrics during an outage: %v", m)
	}
	proxy.Restore()
	eventually(t, 5*time.Second, "reconnection", b.Connected)
}
