package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func newProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, exp
}

// TestTransport: a traced request calls another service through
// Transport; that service, trusting a sampled traceparent, joins the
// trace. An untraced request propagates nothing.
func TestTransport(t *testing.T) {
	tp, exp := newProvider(t)
	var gotParent []string
	backend := httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotParent = append(gotParent, r.Header.Get("Traceparent"))
		if tracing.Opted(r.Context()) {
			io.WriteString(w, "traced")
		}
	}), middleware.WithTracerProvider(tp), middleware.WithSampledTraceparent()))
	defer backend.Close()
	client := &http.Client{Transport: middleware.Transport(nil)}
	frontend := httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", backend.URL+"/b?secret=x", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	}), middleware.WithTracerProvider(tp)))
	defer frontend.Close()

	for _, q := range []string{"", "?tracing=1"} {
		resp, err := http.Get(frontend.URL + "/f" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := map[string]string{"": "", "?tracing=1": "traced"}[q]; string(body) != want {
			t.Fatalf("%q: backend said %q", q, body)
		}
	}
	if gotParent[0] != "" || gotParent[1] == "" {
		t.Fatalf("traceparents seen by the backend: %q", gotParent)
	}
	spans := exp.GetSpans() // backend server, client, frontend server
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	back, cl, front := spans[0], spans[1], spans[2]
	if cl.SpanKind != trace.SpanKindClient || cl.Parent.SpanID() != front.SpanContext.SpanID() ||
		back.Parent.SpanID() != cl.SpanContext.SpanID() || back.SpanContext.TraceID() != front.SpanContext.TraceID() {
		t.Fatalf("front %v, client %v (parent %v), back parent %v", front.SpanContext, cl.SpanContext, cl.Parent, back.Parent)
	}
	a := attrs(cl.Attributes)
	if a["http.request.method"] != "GET" || a["http.response.status_code"] != int64(200) ||
		a["url.full"] != backend.URL+"/b" || a["server.address"] != "127.0.0.1" {
		t.Fatalf("client span attributes %v", a)
	}
}

func TestTransportError(t *testing.T) {
	tp, exp := newProvider(t)
	ctx, end := tracedContext(t, tp)
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:1/", nil)
	_, err := (&http.Client{Transport: middleware.Transport(nil)}).Do(req)
	end()
	if err == nil {
		t.Skip("something listens on 127.0.0.1:1")
	}
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Status.Code != codes.Error || attrs(spans[0].Attributes)["error.type"] == nil {
		t.Fatalf("spans %+v", spans)
	}
	if len(req.Header) != 0 {
		t.Fatal("Transport modified the caller's request")
	}
}

// tracedContext begins tracing and starts a root span, as the middleware
// does for a request.
func tracedContext(t *testing.T, tp trace.TracerProvider) (context.Context, func()) {
	t.Helper()
	ctx, end := tracing.Begin(context.Background())
	ctx, sp := tp.Tracer("test").Start(ctx, "root")
	return ctx, func() { sp.End(); end() }
}
