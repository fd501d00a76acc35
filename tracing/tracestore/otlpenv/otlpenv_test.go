package otlpenv_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"bounded.dev/tracing/tracestore"
	"bounded.dev/tracing/tracestore/otlpenv"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestOTLPRequested(t *testing.T) {
	for _, c := range []struct {
		exporter, endpoint, tracesEndpoint string
		want                               bool
	}{
		{"", "", "", false},
		{"none", "http://collector:4318", "", false},
		{"otlp", "", "", true},
		{"console", "", "", true},
		{"", "http://collector:4318", "", true},
		{"", "", "http://collector:4318/v1/traces", true},
	} {
		t.Setenv("OTEL_TRACES_EXPORTER", c.exporter)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.endpoint)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.tracesEndpoint)
		if got := otlpenv.Requested(); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
}

// TestNewTracerProviderOTLP points OTEL_EXPORTER_OTLP_ENDPOINT at a fake
// collector and checks that a span reaches both the store and, over
// OTLP/HTTP protobuf, the collector.
func TestNewTracerProviderOTLP(t *testing.T) {
	var mu sync.Mutex
	var names []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+r.URL.Path, 400)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					names = append(names, sp.Name)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	defer collector.Close()
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")

	ctx := context.Background()
	s := tracestore.New()
	tp, err := otlpenv.NewTracerProvider(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tp.Tracer("test").Start(ctx, "exported")
	sp.End()
	if s.Len() != 1 {
		t.Fatalf("store holds %d traces right after the span ended, want 1", s.Len())
	}
	if err := tp.Shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 1 || names[0] != "exported" {
		t.Fatalf("collector received %q", names)
	}
}

func TestNewTracerProviderStoreOnly(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // ignored: the exporter is none
	s := tracestore.New()
	tp, err := otlpenv.NewTracerProvider(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tp.Tracer("test").Start(context.Background(), "local")
	sp.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("store holds %d traces", s.Len())
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "bogus")
	if _, err := otlpenv.NewTracerProvider(context.Background(), s); err == nil {
		t.Fatal("an unknown OTEL_TRACES_EXPORTER was accepted")
	}
}
