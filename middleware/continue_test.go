package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// chain is a frontend that, for each request, calls the backend calls
// times through Transport and reports how many of those calls the
// backend traced.
type chain struct {
	front, back *httptest.Server
	exp         *tracetest.InMemoryExporter
	hold        chan struct{} // when not nil, the backend waits on it
	entered     chan struct{} // the backend signals each entry
}

func newChain(t *testing.T, calls int, backOpts ...middleware.Option) *chain {
	t.Helper()
	tp, exp := newProvider(t)
	c := &chain{exp: exp}
	c.back = httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.entered != nil {
			c.entered <- struct{}{}
		}
		if c.hold != nil && tracing.Opted(r.Context()) {
			<-c.hold
		}
		if tracing.Opted(r.Context()) {
			io.WriteString(w, "T")
		} else {
			io.WriteString(w, "-")
		}
	}), append([]middleware.Option{middleware.WithTracerProvider(tp), middleware.WithSampledTraceparent()}, backOpts...)...))
	client := &http.Client{Transport: middleware.Transport(nil)}
	c.front = httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range calls {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", c.back.URL+"/price", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(w, resp.Body)
			resp.Body.Close()
		}
	}), middleware.WithTracerProvider(tp), middleware.WithRateLimit(0, 0), middleware.WithMaxConcurrent(0)))
	t.Cleanup(func() {
		c.front.Close()
		c.back.Close()
		waitReleased(t)
	})
	return c
}

// TestContinuationSkipsBucket: a sampled traceparent from an admitted
// caller continues the caller's trace without a token of the opt-in
// bucket, so a rate-limited backend does not cut traces in half; an
// explicit opt-in still pays.
func TestContinuationSkipsBucket(t *testing.T) {
	c := newChain(t, 3, middleware.WithRateLimit(1e-9, 1)) // one token, never refilled
	for i := range 4 {
		_, body := do(t, "GET", c.front.URL+"/?tracing=1")
		if body != "TTT" {
			t.Fatalf("traced request %d: the backend traced %q of its 3 calls", i, body)
		}
	}
	// The bucket's one token is still there for an explicit opt-in, and
	// only one.
	resp, _ := do(t, "GET", c.back.URL+"/?tracing=1")
	if resp.Header.Get("Traceresponse") == "" {
		t.Fatalf("explicit opt-in refused: %s", resp.Header.Get(middleware.RefusedHeader))
	}
	resp, _ = do(t, "GET", c.back.URL+"/?tracing=1")
	if got := resp.Header.Get(middleware.RefusedHeader); got != middleware.RefusedRate || resp.Header.Get("Traceresponse") != "" {
		t.Fatalf("second explicit opt-in: refused %q", got)
	}
	// No child was refused, so no client span says so.
	for _, s := range c.exp.GetSpans() {
		for _, ev := range s.Events {
			if ev.Name == "child refused" {
				t.Fatalf("span %q: %v", s.Name, ev)
			}
		}
	}
}

// TestContinuationCapped: continuations still count against the
// concurrency cap; the refused child's response says why and the
// caller's client span records it.
func TestContinuationCapped(t *testing.T) {
	c := newChain(t, 1, middleware.WithMaxConcurrent(1))
	c.hold = make(chan struct{})
	c.entered = make(chan struct{}, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	var first string
	go func() {
		defer wg.Done()
		_, first = do(t, "GET", c.front.URL+"/?tracing=1")
	}()
	<-c.entered // the first continuation holds the backend's only slot
	_, second := do(t, "GET", c.front.URL+"/?tracing=1")
	<-c.entered
	close(c.hold)
	wg.Wait()
	if first != "T" || second != "-" {
		t.Fatalf("the backend traced %q and %q, want the first only", first, second)
	}
	checkChildRefused(t, c.exp, middleware.RefusedConcurrency)
}

// checkChildRefused finds the client span whose callee refused to
// continue the trace, with the reason.
func checkChildRefused(t *testing.T, exp *tracetest.InMemoryExporter, want string) {
	t.Helper()
	for _, s := range exp.GetSpans() {
		if s.SpanKind != trace.SpanKindClient {
			continue
		}
		for _, ev := range s.Events {
			if ev.Name == "child refused" {
				if got := attrs(ev.Attributes)["tracing.refused"]; got != want {
					t.Fatalf("child refused: %v, want %q", got, want)
				}
				return
			}
		}
	}
	t.Fatalf("no client span records a refused child in %d spans", len(exp.GetSpans()))
}

// TestContinuationUnauthorized: a sampled traceparent is no credential: a
// caller the backend's policy does not admit is served untraced, told
// why, and its trace records it.
func TestContinuationUnauthorized(t *testing.T) {
	c := newChain(t, 1, middleware.WithBearerToken("s3cret"))
	_, body := do(t, "GET", c.front.URL+"/?tracing=1")
	if body != "-" {
		t.Fatalf("the backend traced a caller it does not admit: %q", body)
	}
	checkChildRefused(t, c.exp, middleware.RefusedUnauthorized)
}
