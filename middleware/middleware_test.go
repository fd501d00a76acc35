package middleware_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// advice is a request_tracing hook of this test, as a handler would have.
var advice *dflag.Flag = tracing.Kind.Opt("middleware_test", "advice in the test handlers")

func TestMain(m *testing.M) { dflagtest.Main(m) } // clean environment, then Init

// fixture is a test server behind the middleware, with its own tracer
// provider and in-memory exporter.
type fixture struct {
	srv *httptest.Server
	exp *tracetest.InMemoryExporter
	tp  *sdktrace.TracerProvider
}

func newFixture(t *testing.T, h http.Handler, opts ...middleware.Option) *fixture {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	srv := httptest.NewUnstartedServer(middleware.Tracing(h, append([]middleware.Option{middleware.WithTracerProvider(tp)}, opts...)...))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // panicking handlers are expected
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		tp.Shutdown(context.Background())
		waitReleased(t)
	})
	return &fixture{srv: srv, exp: exp, tp: tp}
}

// waitReleased waits until no request holds request_tracing.
func waitReleased(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tracing.Kind.Holders() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("request_tracing still has %d holders", tracing.Kind.Holders())
		}
		time.Sleep(time.Millisecond)
	}
}

// observed is what a handler saw of its request.
type observed struct {
	opted, advice bool
	holders       int
	requestID     string
	baggage       string
}

func observe(r *http.Request) observed {
	return observed{
		opted:     tracing.Opted(r.Context()),
		advice:    advice.On(),
		holders:   tracing.Kind.Holders(),
		requestID: middleware.RequestID(r.Context()),
		baggage:   baggage.FromContext(r.Context()).Member("user").Value(),
	}
}

// recorder is a handler that records what each request observed.
type recorder struct {
	mu   sync.Mutex
	seen []observed
}

func (rec *recorder) last() observed {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.seen[len(rec.seen)-1]
}

func (rec *recorder) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		o := observe(r)
		rec.mu.Lock()
		rec.seen = append(rec.seen, o)
		rec.mu.Unlock()
		ctx, sp := tracing.Start(r.Context(), "load item")
		tracing.AddEvent(ctx, "loaded", attribute.String("id", r.PathValue("id")))
		sp.End()
		fmt.Fprintf(w, "item %s", r.PathValue("id"))
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusServiceUnavailable)
	})
	return mux
}

func do(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func serverSpans(exp *tracetest.InMemoryExporter) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			out = append(out, s)
		}
	}
	return out
}

var traceresponseRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

func TestOptedInByQuery(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec.mux())
	resp, body := do(t, "GET", f.srv.URL+"/items/42?x=1&tracing=1", "User-Agent", "test-agent")
	if body != "item 42" {
		t.Fatalf("body %q", body)
	}
	m := traceresponseRE.FindStringSubmatch(resp.Header.Get("Traceresponse"))
	if m == nil {
		t.Fatalf("traceresponse %q", resp.Header.Get("Traceresponse"))
	}
	id := resp.Header.Get("X-Request-Id")
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("X-Request-Id %q: %v", id, err)
	}
	o := rec.last()
	if !o.opted || !o.advice || o.holders != 1 || o.requestID != id {
		t.Fatalf("handler observed %+v", o)
	}

	spans := f.exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the server span and its child", len(spans))
	}
	child, srv := spans[0], spans[1]
	if srv.Name != "GET /items/{id}" || srv.SpanKind != trace.SpanKindServer {
		t.Fatalf("server span %q kind %v", srv.Name, srv.SpanKind)
	}
	if srv.SpanContext.TraceID().String() != m[1] || srv.SpanContext.SpanID().String() != m[2] {
		t.Fatalf("traceresponse %q names another span than %v", m[0], srv.SpanContext)
	}
	if srv.Parent.IsValid() {
		t.Fatalf("server span has a parent %v", srv.Parent)
	}
	a := attrs(srv.Attributes)
	host, port, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	for k, v := range map[string]any{
		"http.request.method":       "GET",
		"url.path":                  "/items/42",
		"url.scheme":                "http",
		"http.route":                "/items/{id}",
		"http.response.status_code": int64(200),
		"http.response.body.size":   int64(len("item 42")),
		"server.address":            host,
		"client.address":            "127.0.0.1",
		"network.peer.address":      "127.0.0.1",
		"network.protocol.version":  "1.1",
		"user_agent.original":       "test-agent",
		"request.id":                id,
	} {
		if a[k] != v {
			t.Errorf("attribute %s = %v (%T), want %v (%T)", k, a[k], a[k], v, v)
		}
	}
	if fmt.Sprint(a["server.port"]) != port {
		t.Errorf("server.port %v, want %s", a["server.port"], port)
	}
	if _, ok := a["url.query"]; ok {
		t.Error("url.query recorded: the query may hold secrets")
	}
	if srv.Status.Code != codes.Unset {
		t.Errorf("status %v", srv.Status)
	}
	if child.Name != "load item" || child.Parent.SpanID() != srv.SpanContext.SpanID() ||
		len(child.Events) != 1 || child.Events[0].Name != "loaded" {
		t.Fatalf("child span %+v", child)
	}
}

func TestOptInSignals(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec.mux())
	for _, c := range []struct {
		name   string
		query  string
		hdr    []string
		traced bool
	}{
		{"no signal", "", nil, false},
		{"query", "?tracing=1", nil, true},
		{"query true", "?tracing=true", nil, true},
		{"query escaped", "?tracing=%31", nil, true},
		{"query zero", "?tracing=0", nil, false},
		{"other parameter", "?xtracing=1&tracingx=1", nil, false},
		{"header", "", []string{"X-Tracing", "1"}, true},
		{"header off", "", []string{"X-Tracing", "0"}, false},
		// Without WithSampledTraceparent, a sampled parent alone does not opt in.
		{"traceparent only", "", []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.exp.Reset()
			resp, _ := do(t, "GET", f.srv.URL+"/items/7"+c.query, c.hdr...)
			traced := resp.Header.Get("Traceresponse") != ""
			o := rec.last()
			if traced != c.traced || o.opted != c.traced || len(serverSpans(f.exp)) != map[bool]int{true: 1}[c.traced] {
				t.Fatalf("traced %v, opted %v, %d server spans; want traced %v", traced, o.opted, len(serverSpans(f.exp)), c.traced)
			}
			if !c.traced && (o.holders != 0 || resp.Header.Get("X-Request-Id") != "" || len(f.exp.GetSpans()) != 0) {
				t.Fatalf("untraced request: %+v, X-Request-Id %q, %d spans", o, resp.Header.Get("X-Request-Id"), len(f.exp.GetSpans()))
			}
		})
	}
}

func TestConfiguredSignals(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec.mux(), middleware.WithQueryParam("debug_trace"), middleware.WithHeader("x-debug-trace"),
		middleware.WithSampledTraceparent(), middleware.WithRequestIDHeader(""))
	for _, c := range []struct {
		query  string
		hdr    []string
		traced bool
	}{
		{"?tracing=1", nil, false},
		{"?debug_trace=1", nil, true},
		{"", []string{"X-Debug-Trace", "yes"}, true},
		{"", []string{"X-Tracing", "1"}, false},
		{"", []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, true},
		{"", []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}, false},
	} {
		f.exp.Reset()
		resp, _ := do(t, "GET", f.srv.URL+"/items/7"+c.query, c.hdr...)
		if traced := rec.last().opted; traced != c.traced || len(serverSpans(f.exp)) != map[bool]int{true: 1}[c.traced] {
			t.Errorf("%q %v: traced %v, want %v", c.query, c.hdr, traced, c.traced)
		}
		if resp.Header.Get("X-Request-Id") != "" {
			t.Errorf("X-Request-Id sent although disabled")
		}
	}
}

// TestTraceContext checks that an incoming W3C trace context and baggage
// are extracted, and that opting in samples a request whose caller did not.
func TestTraceContext(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec.mux())
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, flags := range []string{"01", "00"} {
		f.exp.Reset()
		resp, _ := do(t, "GET", f.srv.URL+"/items/1?tracing=1",
			"Traceparent", "00-"+traceID+"-"+parentID+"-"+flags, "Baggage", "user=alice")
		spans := serverSpans(f.exp)
		if len(spans) != 1 {
			t.Fatalf("flags %s: %d server spans", flags, len(spans))
		}
		sp := spans[0]
		if sp.SpanContext.TraceID().String() != traceID || sp.Parent.SpanID().String() != parentID || !sp.Parent.IsRemote() {
			t.Fatalf("flags %s: span %v parent %v", flags, sp.SpanContext, sp.Parent)
		}
		if !strings.HasPrefix(resp.Header.Get("Traceresponse"), "00-"+traceID+"-") {
			t.Fatalf("traceresponse %q", resp.Header.Get("Traceresponse"))
		}
		if got := rec.last().baggage; got != "alice" {
			t.Fatalf("baggage user=%q", got)
		}
	}
}

// TestAuthorisation: only local clients by default (loopback peer, local
// Host, no proxy header); a bearer token or a predicate replaces that;
// cross-site browser requests are refused whatever admits them. Refused
// requests are served untraced, say why in X-Tracing-Refused, and can be
// logged.
func TestAuthorisation(t *testing.T) {
	rec := &recorder{}
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	def := middleware.Tracing(rec.mux(), middleware.WithLogger(logger))
	token := middleware.Tracing(rec.mux(), middleware.WithBearerToken("s3cret"))
	either := middleware.Tracing(rec.mux(), middleware.WithBearerToken("s3cret"), middleware.WithLocal())
	legacy := middleware.Tracing(rec.mux(), middleware.WithBearerToken("s3cret"), middleware.WithAuthorize(middleware.Loopback))
	named := middleware.Tracing(rec.mux(), middleware.WithLocalHosts("devbox"))
	trusted := middleware.Tracing(rec.mux(), middleware.WithTrustedOrigin("https://ops.example.com"))
	const (
		local  = "127.0.0.1:4000"
		remote = "203.0.113.7:4000"
		bearer = "Bearer s3cret"
	)
	const (
		ok     = ""
		unauth = middleware.RefusedUnauthorized
		cross  = middleware.RefusedCrossSite
	)
	for _, c := range []struct {
		name   string
		h      http.Handler
		remote string
		host   string // "" for 127.0.0.1:8080
		hdr    []string
		want   string // the X-Tracing-Refused value, "" when traced
	}{
		{"loopback", def, local, "", nil, ok},
		{"loopback v6", def, "[::1]:4000", "[::1]:8080", nil, ok},
		{"localhost", def, local, "localhost:8080", nil, ok},
		{"remote", def, remote, "", nil, unauth},
		{"proxied X-Forwarded-For", def, local, "", []string{"X-Forwarded-For", "203.0.113.7"}, unauth},
		{"proxied Forwarded", def, local, "", []string{"Forwarded", "for=203.0.113.7"}, unauth},
		{"proxied X-Real-Ip", def, local, "", []string{"X-Real-Ip", "203.0.113.7"}, unauth},
		{"proxied Via", def, local, "", []string{"Via", "1.1 proxy"}, unauth},
		{"proxied True-Client-Ip", def, local, "", []string{"True-Client-Ip", "203.0.113.7"}, unauth},
		{"proxied Cf-Connecting-Ip", def, local, "", []string{"Cf-Connecting-Ip", "203.0.113.7"}, unauth},
		{"rebound Host", def, local, "attacker.example:8080", nil, unauth},
		{"rebound Host, same-origin", def, local, "attacker.example:8080",
			[]string{"Sec-Fetch-Site", "same-origin", "Origin", "http://attacker.example:8080"}, unauth},
		{"configured host name", named, local, "devbox:8080", nil, ok},
		{"unconfigured host name", def, local, "devbox:8080", nil, unauth},
		{"cross-site Sec-Fetch-Site", def, local, "", []string{"Sec-Fetch-Site", "cross-site"}, cross},
		{"same-site Sec-Fetch-Site", def, local, "", []string{"Sec-Fetch-Site", "same-site"}, cross},
		{"same-origin Sec-Fetch-Site", def, local, "", []string{"Sec-Fetch-Site", "same-origin"}, ok},
		{"typed address", def, local, "", []string{"Sec-Fetch-Site", "none"}, ok},
		{"foreign Origin", def, local, "", []string{"Origin", "http://attacker.example"}, cross},
		{"null Origin", def, local, "", []string{"Origin", "null"}, cross},
		{"own Origin", def, local, "", []string{"Origin", "http://127.0.0.1:8080"}, ok},
		{"trusted Origin", trusted, local, "", []string{"Origin", "https://ops.example.com", "Sec-Fetch-Site", "cross-site"}, ok},
		{"untrusted Origin", trusted, local, "", []string{"Origin", "https://ops2.example.com"}, cross},
		{"token", token, remote, "items.example", []string{"Authorization", bearer}, ok},
		{"token scheme case", token, remote, "", []string{"Authorization", "bearer s3cret"}, ok},
		{"token, cross-site", token, remote, "", []string{"Authorization", bearer, "Sec-Fetch-Site", "cross-site"}, cross},
		{"wrong token", token, remote, "", []string{"Authorization", "Bearer s3cre"}, unauth},
		{"no token", token, local, "", nil, unauth},
		{"basic", token, local, "", []string{"Authorization", "Basic s3cret"}, unauth},
		{"either: loopback", either, local, "", nil, ok},
		{"either: token", either, remote, "", []string{"Authorization", bearer}, ok},
		{"either: neither", either, remote, "", nil, unauth},
		{"legacy: loopback", legacy, local, "", nil, ok},
		{"legacy: rebound", legacy, local, "attacker.example", nil, unauth},
	} {
		r := httptest.NewRequest("GET", "/items/3?tracing=1", nil)
		r.RemoteAddr = c.remote
		r.Host = c.host
		if r.Host == "" {
			r.Host = "127.0.0.1:8080"
		}
		for i := 0; i+1 < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		w := httptest.NewRecorder()
		c.h.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.String() != "item 3" {
			t.Errorf("%s: served %d %q", c.name, w.Code, w.Body)
		}
		if got, want := rec.last().opted, c.want == ok; got != want {
			t.Errorf("%s: traced %v, want %v", c.name, got, want)
		}
		if got := w.Header().Get(middleware.RefusedHeader); got != c.want {
			t.Errorf("%s: %s %q, want %q", c.name, middleware.RefusedHeader, got, c.want)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"is not on a loopback address", "came through a proxy (Via header)",
		`Host \"attacker.example:8080\" is not a loopback address`, "Sec-Fetch-Site: cross-site"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("refusal log lacks %q:\n%s", want, logs.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestBadOptions: an option given a bad value makes Tracing panic, with
// the package's prefix once.
func TestBadOptions(t *testing.T) {
	for name, opt := range map[string]middleware.Option{
		"empty token":      middleware.WithBearerToken(""),
		"nil rule":         middleware.WithAuthorize(nil),
		"host with port":   middleware.WithLocalHosts("devbox:8080"),
		"malformed origin": middleware.WithTrustedOrigin("ops.example.com/x"),
	} {
		func() {
			defer func() {
				v := recover()
				msg, _ := v.(string)
				if !strings.HasPrefix(msg, "middleware: ") || strings.Count(msg, "middleware:") != 1 {
					t.Errorf("%s: panic %v", name, v)
				}
			}()
			middleware.Tracing(http.NotFoundHandler(), opt)
		}()
	}
}

func TestServerErrorAndRoute(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec.mux())
	resp, _ := do(t, "GET", f.srv.URL+"/missing?tracing=1")
	if resp.StatusCode != 503 {
		t.Fatal(resp.Status)
	}
	// An unrouted request: no route, the span is named after the method.
	do(t, "GET", f.srv.URL+"/nowhere?tracing=1")
	do(t, "BREW", f.srv.URL+"/pot?tracing=1")
	spans := serverSpans(f.exp)
	if len(spans) != 3 {
		t.Fatalf("%d server spans", len(spans))
	}
	a := attrs(spans[0].Attributes)
	if spans[0].Name != "GET /missing" || spans[0].Status.Code != codes.Error || a["error.type"] != "503" || a["http.response.status_code"] != int64(503) {
		t.Fatalf("5xx span %q %v %v", spans[0].Name, spans[0].Status, a)
	}
	a = attrs(spans[1].Attributes)
	if spans[1].Name != "GET" || spans[1].Status.Code != codes.Unset || a["http.response.status_code"] != int64(404) || a["http.route"] != nil {
		t.Fatalf("404 span %q %v %v", spans[1].Name, spans[1].Status, a)
	}
	a = attrs(spans[2].Attributes)
	if spans[2].Name != "HTTP" || a["http.request.method"] != "_OTHER" || a["http.request.method_original"] != "BREW" {
		t.Fatalf("unknown method span %q %v", spans[2].Name, a)
	}
}

// TestConcurrentPanics sends 60 concurrent requests, all in flight at once;
// every third opts in and every fifth panics. Exactly the opted-in ones are
// traced, panicking ones with the panic on their span, every panic reaches
// the code around the middleware, and every activation is released, after
// which the advice switches off once the linger has passed.
func TestConcurrentPanics(t *testing.T) {
	const n = 60
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	var holdersAtBarrier atomic.Int64
	go func() {
		arrived.Wait()
		holdersAtBarrier.Store(int64(tracing.Kind.Holders())) // every request is in flight
		close(all)
	}()
	var panics atomic.Int64

	mux := http.NewServeMux()
	mux.HandleFunc("GET /work/{i}", func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		select {
		case <-all:
		case <-time.After(20 * time.Second):
			t.Error("not all requests arrived")
		}
		if tracing.Opted(r.Context()) && !advice.On() {
			t.Error("an opted-in request ran with its advice off")
		}
		_, sp := tracing.Start(r.Context(), "work")
		sp.End()
		if r.URL.Query().Get("panic") == "1" {
			panic(fmt.Sprintf("boom %s", r.PathValue("i")))
		}
		io.WriteString(w, "ok")
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	inner := middleware.Tracing(mux, middleware.WithTracerProvider(tp), middleware.WithMaxConcurrent(n), middleware.WithRateLimit(0, 0))
	// The code around the middleware sees every panic.
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if !strings.HasPrefix(fmt.Sprint(v), "boom ") {
					t.Errorf("panic value %v", v)
				}
				panics.Add(1)
				http.Error(w, "recovered", 500)
			}
		}()
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(outer)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()

	var wg sync.WaitGroup
	opted, panicking := 0, 0
	wantErr := map[string]bool{}
	for i := range n {
		q := []string{}
		if i%3 == 0 {
			q = append(q, "tracing=1")
			opted++
		}
		if i%5 == 0 {
			q = append(q, "panic=1")
			panicking++
			if i%3 == 0 {
				wantErr[fmt.Sprint(i)] = true
			}
		}
		url := fmt.Sprintf("%s/work/%d?%s", srv.URL, i, strings.Join(q, "&"))
		wg.Go(func() {
			resp, err := client.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if want := map[bool]int{true: 500, false: 200}[i%5 == 0]; resp.StatusCode != want {
				t.Errorf("request %d: %s", i, resp.Status)
			}
		})
	}
	wg.Wait()
	if got := holdersAtBarrier.Load(); got != int64(opted) {
		t.Errorf("%d request_tracing holders while all requests were in flight, want %d", got, opted)
	}
	if got := panics.Load(); got != int64(panicking) {
		t.Errorf("%d panics reached the outer handler, want %d", got, panicking)
	}
	spans := serverSpans(exp)
	if len(spans) != opted {
		t.Fatalf("%d server spans, want %d", len(spans), opted)
	}
	children := 0
	for _, s := range exp.GetSpans() {
		if s.Name == "work" {
			children++
		}
	}
	if children != opted {
		t.Errorf("%d child spans, want %d (one per traced request)", children, opted)
	}
	ids := map[string]bool{}
	for _, sp := range spans {
		a := attrs(sp.Attributes)
		ids[a["request.id"].(string)] = true
		i := strings.TrimPrefix(a["url.path"].(string), "/work/")
		if wantErr[i] {
			if sp.Status.Code != codes.Error || !strings.HasPrefix(sp.Status.Description, "panic: boom "+i) ||
				len(sp.Events) == 0 || sp.Events[len(sp.Events)-1].Name != "exception" {
				t.Errorf("panicking request %s: status %v events %v", i, sp.Status, sp.Events)
			}
			ev := attrs(sp.Events[len(sp.Events)-1].Attributes)
			if ev["exception.type"] != "string" || !strings.Contains(ev["exception.stacktrace"].(string), "TestConcurrentPanics") {
				t.Errorf("exception event %v", ev)
			}
			if _, ok := a["http.response.status_code"]; ok {
				t.Errorf("panicking request %s has a status code", i)
			}
		} else if sp.Status.Code != codes.Unset || a["http.response.status_code"] != int64(200) {
			t.Errorf("request %s: status %v attrs %v", i, sp.Status, a)
		}
	}
	if len(ids) != opted {
		t.Errorf("%d distinct request ids for %d traced requests", len(ids), opted)
	}
	waitReleased(t)
	// The advice stays on for the linger, then switches off.
	deadline := time.Now().Add(10 * time.Second)
	for tracing.Kind.Active() || advice.On() {
		if time.Now().After(deadline) {
			t.Fatalf("request_tracing still active after %v (linger %v)", 10*time.Second, tracing.Kind.Linger())
		}
		time.Sleep(5 * time.Millisecond)
	}
	states, err := dflag.List("request_tracing:")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.On || s.Activation != 0 {
			t.Errorf("%s: on %v, activation %d", s.Name, s.On, s.Activation)
		}
	}
}

// TestHijack: a hijacked connection stays traced until the handler
// returns, and the span records the hijack.
func TestHijack(t *testing.T) {
	mux := http.NewServeMux()
	var during observed
	mux.HandleFunc("GET /upgrade", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("the wrapped writer is not an http.Hijacker")
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n') // the client speaks after the upgrade
		during = observe(r)
		brw.WriteString("echo " + line)
		brw.Flush()
	})
	f := newFixture(t, mux)
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /upgrade?tracing=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatal(resp.Status)
	}
	fmt.Fprintf(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Fatalf("%q %v", line, err)
	}
	waitReleased(t)
	if !during.opted || !during.advice || during.holders != 1 {
		t.Fatalf("after the hijack the handler observed %+v", during)
	}
	spans := serverSpans(f.exp)
	if len(spans) != 1 || len(spans[0].Events) != 1 || spans[0].Events[0].Name != "connection hijacked" {
		t.Fatalf("spans %+v", spans)
	}
	if _, ok := attrs(spans[0].Attributes)["http.response.status_code"]; ok {
		t.Fatal("a status code was recorded for a hijacked connection")
	}
}

// TestStreaming: flushed chunks reach the client while the handler runs,
// still traced; ResponseController reaches the server's writer.
func TestStreaming(t *testing.T) {
	step := make(chan struct{})
	var during []observed
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through the wrapper: %v", err)
		}
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d\n", i)
			if i%2 == 0 {
				w.(http.Flusher).Flush()
			} else if err := rc.Flush(); err != nil {
				t.Error(err)
			}
			during = append(during, observe(r))
			select {
			case <-step: // the client read the chunk
			case <-time.After(20 * time.Second):
				t.Error("the client did not read a flushed chunk")
				return
			}
		}
	})
	f := newFixture(t, mux)
	resp, err := http.Get(f.srv.URL + "/stream?tracing=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("chunk %d\n", i) {
			t.Fatalf("chunk %d: %q %v", i, line, err)
		}
		step <- struct{}{}
	}
	io.Copy(io.Discard, br)
	waitReleased(t)
	for i, o := range during {
		if !o.opted || !o.advice || o.holders != 1 {
			t.Fatalf("chunk %d: handler observed %+v", i, o)
		}
	}
	spans := serverSpans(f.exp)
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrs(spans[0].Attributes)
	if a["http.response.status_code"] != int64(200) || a["http.response.body.size"] != int64(3*len("chunk 0\n")) ||
		len(spans[0].Events) != 1 || spans[0].Events[0].Name != "first flush" {
		t.Fatalf("span %v events %v", a, spans[0].Events)
	}
}

// TestClientDisconnect: a request whose client goes away is released when
// its handler returns, and its span says why the context ended.
func TestClientDisconnect(t *testing.T) {
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	f := newFixture(t, mux)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/slow?tracing=1", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	if tracing.Kind.Holders() != 1 {
		t.Fatalf("%d holders during the request", tracing.Kind.Holders())
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	waitReleased(t)
	deadline := time.Now().Add(10 * time.Second)
	for len(serverSpans(f.exp)) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	spans := serverSpans(f.exp)
	if len(spans) != 1 || len(spans[0].Events) != 1 || spans[0].Events[0].Name != "request context done" {
		t.Fatalf("spans %+v", spans)
	}
}

// TestCap: at most WithMaxConcurrent traced requests are in flight; the
// others are served untraced, and a slot frees when a request ends.
func TestCap(t *testing.T) {
	const limit, n = 2, 5
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var traced atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /c", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("wait") == "1" {
			arrived.Done()
			<-all
		}
		if tracing.Opted(r.Context()) {
			traced.Add(1)
		}
	})
	f := newFixture(t, mux, middleware.WithMaxConcurrent(limit), middleware.WithRateLimit(0, 0))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { do(t, "GET", f.srv.URL+"/c?tracing=1&wait=1") })
	}
	wg.Wait()
	if traced.Load() != limit || len(serverSpans(f.exp)) != limit {
		t.Fatalf("%d traced, %d spans, want %d", traced.Load(), len(serverSpans(f.exp)), limit)
	}
	waitReleased(t)
	if resp, _ := do(t, "GET", f.srv.URL+"/c?tracing=1"); resp.Header.Get("Traceresponse") == "" {
		t.Fatal("a slot was not freed")
	}
}

// TestRateLimit: new traced requests are admitted at the rate limit; the
// others are served untraced.
func TestRateLimit(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r", func(w http.ResponseWriter, r *http.Request) {})
	// A refill of one token an hour: only the burst is admitted here.
	f := newFixture(t, mux, middleware.WithRateLimit(1.0/3600, 3))
	var got []bool
	for range 5 {
		resp, _ := do(t, "GET", f.srv.URL+"/r?tracing=1")
		got = append(got, resp.Header.Get("Traceresponse") != "")
	}
	if fmt.Sprint(got) != "[true true true false false]" {
		t.Fatalf("traced %v", got)
	}
	// Requests that did not ask take no token.
	g := newFixture(t, mux, middleware.WithRateLimit(1.0/3600, 1))
	do(t, "GET", g.srv.URL+"/r")
	if resp, _ := do(t, "GET", g.srv.URL+"/r?tracing=1"); resp.Header.Get("Traceresponse") == "" {
		t.Fatal("an untraced request took a token")
	}
}

// TestAdapter uses the func(http.Handler) http.Handler form, as chi's and
// gorilla's Use take it.
func TestAdapter(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	use := []func(http.Handler) http.Handler{
		middleware.New(middleware.WithTracerProvider(tp)),
		func(next http.Handler) http.Handler { // another middleware after it
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Inner", fmt.Sprint(tracing.Opted(r.Context())))
				next.ServeHTTP(w, r)
			})
		},
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for i := len(use) - 1; i >= 0; i-- {
		h = use[i](h)
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1/?tracing=1", nil)
	r.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("X-Inner") != "true" || len(exp.GetSpans()) != 1 {
		t.Fatalf("X-Inner %q, %d spans", w.Header().Get("X-Inner"), len(exp.GetSpans()))
	}
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestNotOptedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := middleware.Tracing(bare, middleware.WithSampledTraceparent())
	for _, target := range []string{"/items/1", "/items/1?page=2&sort=name", "/items/1?tracing=0", "/items/1?xtracing=1"} {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Accept", "*/*")
		r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
		w := &nopWriter{h: http.Header{}}
		if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %v allocations per request", target, n)
		}
	}
}
