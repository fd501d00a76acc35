package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardWriter is a ResponseWriter that costs nothing, so that the
// benchmarks measure the middleware alone.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware is the cost per request of tracing middleware for a
// request that is not traced: the bare handler, the same handler behind
// middleware.Tracing (the request does not opt in), and behind otelhttp with
// a tracer provider that never samples, the cheapest configuration of the
// usual alternative. Opted is a request that opts in, for scale: server
// span (recorded, exported nowhere), request id, request_tracing held
// (lingering, so no flag flips).
//
//	cd bench && go test -run '^$' -bench 'Middleware|Advice' -count 6 .
//
// docs/tracing.md runs it in interleaved rounds (each case once per round)
// and records the figures, the command and the machine.
func BenchmarkMiddleware(b *testing.B) {
	if err := dflag.Init(); err != nil {
		b.Fatal(err)
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	// A typical request: a query string and a few headers, from a client
	// allowed to opt in (so only the opt-in signal is missing).
	newRequest := func(target string) *http.Request {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8080"+target, nil)
		r.RemoteAddr = "127.0.0.1:51000"
		r.Header.Set("User-Agent", "curl/8.5.0")
		r.Header.Set("Accept", "*/*")
		r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
		return r
	}
	run := func(h http.Handler, r *http.Request) func(*testing.B) {
		return func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		}
	}
	plain := newRequest("/items/42?page=2&sort=name")
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider() // samples, exports nowhere
	defer never.Shutdown(context.Background())
	defer always.Shutdown(context.Background())

	b.Run("Bare", run(bare, plain))
	b.Run("Tracing", run(middleware.Tracing(bare, middleware.WithSampledTraceparent()), plain))
	b.Run("Otelhttp", run(otelhttp.NewHandler(bare, "items", otelhttp.WithTracerProvider(never)), plain))
	b.Run("Opted", func(b *testing.B) {
		release := tracing.Kind.Activate() // keep the kind held: no flips
		defer release()
		run(middleware.Tracing(bare, middleware.WithTracerProvider(always),
			middleware.WithRateLimit(0, 0)), newRequest("/items/42?tracing=1"))(b)
	})
}

var adviceFlag *dflag.Flag = tracing.Kind.Opt("bench_advice", "the flag checked in BenchmarkAdvice")

// BenchmarkAdvice is what request_tracing advice costs a request that is
// not traced, while no request is traced (the kind is off): a hook guard,
// and the tracing helpers called unguarded.
func BenchmarkAdvice(b *testing.B) {
	if err := dflag.Init(); err != nil {
		b.Fatal(err)
	}
	tracing.Kind.Flush()
	ctx := context.Background()
	b.Run("Guard", func(b *testing.B) {
		for b.Loop() {
			if adviceFlag.On() && tracing.Opted(ctx) {
				b.Fatal("traced")
			}
		}
	})
	b.Run("StartEnd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, sp := tracing.Start(ctx, "x")
			sp.End()
		}
	})
	b.Run("AddEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tracing.AddEvent(ctx, "x", attribute.Int("i", 1))
		}
	})
}
