package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"bounded.dev/middleware"
	"bounded.dev/tracing"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Wrap a mux: a request with ?tracing=1 from a loopback client is traced,
// the others are served as they were.
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)) // or the global provider

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, span := tracing.Start(r.Context(), "load item") // a child span only when traced
		defer span.End()
		fmt.Fprintf(w, "item %s, traced %v", r.PathValue("id"), tracing.Opted(r.Context()))
	})
	srv := httptest.NewServer(middleware.Tracing(mux, middleware.WithTracerProvider(tp)))
	defer srv.Close()

	for _, path := range []string{"/items/1", "/items/2?tracing=1"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %s; traceresponse header: %v\n", path, body, resp.Header.Get("Traceresponse") != "")
	}
	for _, s := range exp.GetSpans() {
		fmt.Println("span:", s.Name)
	}
	// Output:
	// /items/1: item 1, traced false; traceresponse header: false
	// /items/2?tracing=1: item 2, traced true; traceresponse header: true
	// span: load item
	// span: GET /items/{id}
}

// Let remote operators opt in with a shared secret, and keep loopback
// clients allowed too.
func ExampleWithBearerToken() {
	h := middleware.Tracing(http.NotFoundHandler(),
		middleware.WithBearerToken("s3cret"),
		middleware.WithLocal(),
	)
	r := httptest.NewRequest("GET", "/?tracing=1", nil)
	r.RemoteAddr = "203.0.113.7:51000"
	r.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("X-Request-Id") != "")
	// Output:
	// 404 true
}

// New gives the func(http.Handler) http.Handler form that chi's and
// gorilla/mux's Router.Use take.
func ExampleNew() {
	use := middleware.New(middleware.WithQueryParam("trace"), middleware.WithMaxConcurrent(4))
	h := use(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("traced:", tracing.Opted(r.Context()))
	}))
	r := httptest.NewRequest("GET", "http://localhost:8080/?trace=1", nil)
	r.RemoteAddr = "127.0.0.1:51000"
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// traced: true
}

// A traced request calls another service through Transport: the callee,
// which continues the trace of a sampled traceparent, joins the caller's
// trace, and the caller's trace has a client span between the two.
func ExampleTransport() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))

	pricing := httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "traced: ", tracing.Opted(r.Context()))
	}), middleware.WithTracerProvider(tp), middleware.WithSampledTraceparent()))
	defer pricing.Close()

	client := &http.Client{Transport: middleware.Transport(nil)}
	items := httptest.NewServer(middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", pricing.URL+"/price", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	}), middleware.WithTracerProvider(tp)))
	defer items.Close()

	resp, err := http.Get(items.URL + "/items/1?tracing=1")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("pricing says %s\n", body)
	spans := exp.GetSpans()
	for _, s := range spans {
		fmt.Println(s.SpanKind, s.Name, s.SpanContext.TraceID() == spans[0].SpanContext.TraceID())
	}
	// Output:
	// pricing says traced: true
	// server GET true
	// client GET true
	// server GET true
}

// A request that asks to be traced and may not is served untraced, and
// the response says why.
func ExampleRefusedHeader() {
	h := middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "traced: ", tracing.Opted(r.Context()))
	}))
	for _, c := range []struct{ remote, site string }{
		{"127.0.0.1:5000", ""},           // a local client
		{"203.0.113.7:5000", ""},         // a remote one
		{"127.0.0.1:5000", "cross-site"}, // a page on another site, in the local browser
	} {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8080/?tracing=1", nil)
		r.RemoteAddr = c.remote
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s, refused: %q\n", w.Body, w.Header().Get(middleware.RefusedHeader))
	}
	// Output:
	// traced: true, refused: ""
	// traced: false, refused: "unauthorized"
	// traced: false, refused: "cross-site"
}
