package middleware

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FuzzSampledTraceparent holds the cheap check that decides whether a
// request continues a trace (and so skips the opt-in bucket) to the W3C
// propagator that then extracts the parent: they must agree on every
// header value, so that no malformed traceparent counts as a continuation.
func FuzzSampledTraceparent(f *testing.F) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
	for _, s := range []string{
		"00-" + id + "-01", "00-" + id + "-00", "00-" + id + "-03", "00-" + id + "-05",
		"00-" + id + "-01-", "00-" + id + "-01-x", "01-" + id + "-01-future", "01-" + id + "-01x",
		"fe-" + id + "-01", "ff-" + id + "-01", "0g-" + id + "-01", "00-" + strings.ToUpper(id) + "-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		" 00-" + id + "-01 ", "", "00-" + id,
	} {
		f.Add(s)
	}
	prop := propagation.TraceContext{}
	f.Fuzz(func(t *testing.T, v string) {
		got := sampledTraceparent(v)
		// net/http trims a header value's surrounding whitespace, which is
		// what the propagator sees.
		h := http.Header{"Traceparent": {strings.TrimSpace(v)}}
		sc := trace.SpanContextFromContext(prop.Extract(context.Background(), propagation.HeaderCarrier(h)))
		if want := sc.IsValid() && sc.IsSampled(); got != want {
			t.Fatalf("sampledTraceparent(%q) = %v, the propagator says valid and sampled = %v", v, got, want)
		}
	})
}

// FuzzQueryAsks: the query signal is found only where the fast path's
// substring prefilter looks (name followed by "="), and never panics.
func FuzzQueryAsks(f *testing.F) {
	for _, s := range []string{"tracing=1", "a=b&tracing=true", "tracing=%31", "tracing=+1", "tracing=%zz",
		"tracing", "xtracing=1", "tracing=0&tracing=1", "&&tracing=on&", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if queryAsks(raw, DefaultQueryParam) && !strings.Contains(raw, DefaultQueryParam+"=") {
			t.Fatalf("queryAsks(%q) is true but the prefilter would skip it", raw)
		}
	})
}
