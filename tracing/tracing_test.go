package tracing_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var testAdvice *dflag.Flag = tracing.Kind.Opt("tracing_test", "advice of the tests")

func TestMain(m *testing.M) { dflagtest.Main(m) } // clean environment, then Init

func newProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, exp
}

// tracedContext begins tracing and starts a root span, as the middleware
// does for a request.
func tracedContext(t *testing.T, tp trace.TracerProvider) (context.Context, func()) {
	ctx, end := tracing.Begin(context.Background())
	ctx, sp := tp.Tracer("test").Start(ctx, "root")
	return ctx, func() { sp.End(); end() }
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestBegin(t *testing.T) {
	if tracing.Opted(context.Background()) {
		t.Fatal("Background opted in")
	}
	base := tracing.Kind.Holders()
	ctx, end := tracing.Begin(context.Background())
	if !tracing.Opted(ctx) || !testAdvice.On() || tracing.Kind.Holders() != base+1 {
		t.Fatalf("after Begin: opted %v, advice %v, holders %d", tracing.Opted(ctx), testAdvice.On(), tracing.Kind.Holders())
	}
	child, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !tracing.Opted(child) {
		t.Fatal("a derived context lost the mark")
	}
	end()
	end() // idempotent
	if tracing.Kind.Holders() != base {
		t.Fatalf("holders %d after end, want %d", tracing.Kind.Holders(), base)
	}
	if !tracing.Kind.Active() && testAdvice.On() {
		t.Fatal("advice on while the kind is not active")
	}
}

func TestHelpers(t *testing.T) {
	tp, exp := newProvider(t)
	ctx, end := tracedContext(t, tp)
	cctx, child := tracing.Start(ctx, "child", trace.WithAttributes(attribute.Int("n", 1)))
	tracing.AddEvent(cctx, "step", attribute.String("k", "v"))
	tracing.SetAttributes(cctx, attribute.Bool("b", true))
	tracing.RecordError(cctx, errors.New("oops"))
	tracing.RecordError(cctx, nil)
	child.End()

	// A context that did not opt in, while the kind is active: nothing.
	plain := context.Background()
	pctx, nop := tracing.Start(plain, "never")
	if pctx != plain || nop.IsRecording() || nop.SpanContext().IsValid() {
		t.Fatal("Start traced a context that did not opt in")
	}
	nop.End()
	tracing.AddEvent(plain, "never")
	// Even a recording span of someone else's is left alone.
	octx, other := tp.Tracer("other").Start(plain, "other")
	tracing.AddEvent(octx, "never")
	tracing.SetAttributes(octx, attribute.Bool("never", true))
	other.End()
	end()

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	c := spans[0]
	if c.Name != "child" || c.Parent.SpanID() != spans[2].SpanContext.SpanID() || c.InstrumentationScope.Name != tracing.ScopeName {
		t.Fatalf("child %q parent %v scope %q", c.Name, c.Parent, c.InstrumentationScope.Name)
	}
	a := attrs(c.Attributes)
	if a["n"] != int64(1) || a["b"] != true || c.Status.Code != codes.Error || c.Status.Description != "oops" {
		t.Fatalf("child attributes %v status %v", a, c.Status)
	}
	if len(c.Events) != 2 || c.Events[0].Name != "step" || c.Events[1].Name != "exception" {
		t.Fatalf("child events %+v", c.Events)
	}
	if len(spans[1].Events) != 0 || len(spans[1].Attributes) != 0 {
		t.Fatalf("advice touched a span of a request that did not opt in: %+v", spans[1])
	}
}

// TestStartGlobalProvider: a context that opted in without a span gets a
// root span from the global provider.
func TestStartGlobalProvider(t *testing.T) {
	tp, exp := newProvider(t)
	old := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(old)
	ctx, end := tracing.Begin(context.Background())
	defer end()
	_, sp := tracing.Start(ctx, "job")
	sp.End()
	if s := exp.GetSpans(); len(s) != 1 || s[0].Name != "job" || s[0].Parent.IsValid() {
		t.Fatalf("spans %+v", s)
	}
}

// TestUnhook: an operator keeps one piece of advice off, whatever requests
// ask for.
func TestUnhook(t *testing.T) {
	tp, exp := newProvider(t)
	if n, err := dflag.Unhook("request_tracing:start@bounded.dev/tracing/"); err != nil || n != 1 {
		t.Fatalf("Unhook matched %d: %v", n, err)
	}
	defer func() {
		dflag.Rehook("request_tracing:start@bounded.dev/tracing/")
		tracing.Kind.Flush() // the next hold activates the flag again
	}()
	tracing.Kind.Flush() // an unhooked flag ignores activations, not a hold already in place
	ctx, end := tracedContext(t, tp)
	_, sp := tracing.Start(ctx, "unhooked")
	sp.End()
	tracing.AddEvent(ctx, "still on")
	end()
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "root" || len(spans[0].Events) != 1 {
		t.Fatalf("spans %+v", spans)
	}
}

func TestNotOptedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	check := func(when string) {
		n := testing.AllocsPerRun(100, func() {
			c, sp := tracing.Start(ctx, "x")
			tracing.AddEvent(c, "e", attribute.Int("i", 1), attribute.String("s", "v"))
			tracing.SetAttributes(c, attribute.Int("i", 2))
			sp.End()
		})
		if n != 0 {
			t.Errorf("%s: %v allocations", when, n)
		}
	}
	tracing.Kind.Flush()
	if testAdvice.On() {
		t.Skip("request_tracing is held elsewhere")
	}
	check("kind off")
	release := tracing.Kind.Activate()
	defer release()
	check("kind on, context not opted in")
}

type stringer struct{}

func (stringer) String() string { return "str" }

func TestLogHandler(t *testing.T) {
	tp, exp := newProvider(t)
	var buf bytes.Buffer
	next := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	logger := slog.New(tracing.NewLogHandler(next)).With("svc", "items").WithGroup("req")

	ctx, end := tracedContext(t, tp)
	logger.DebugContext(ctx, "cache miss", "key", 42, slog.Group("db", "rows", uint64(3)), "d", time.Second, "s", stringer{})
	logger.InfoContext(ctx, "served", "err", errors.New("none"))
	logger.DebugContext(context.Background(), "not traced")
	logger.InfoContext(context.Background(), "plain")
	if !logger.Handler().Enabled(ctx, slog.LevelDebug) || logger.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("Enabled")
	}
	end()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "msg=served") || !strings.Contains(lines[1], "msg=plain svc=items") {
		t.Fatalf("next handler got:\n%s", buf.String())
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || len(spans[0].Events) != 2 {
		t.Fatalf("spans %+v", spans)
	}
	ev := spans[0].Events[0]
	a := attrs(ev.Attributes)
	if ev.Name != "cache miss" || a["log.level"] != "DEBUG" || a["svc"] != "items" || a["req.key"] != int64(42) ||
		a["req.db.rows"] != int64(3) || a["req.d"] != "1s" || a["req.s"] != "str" ||
		!strings.HasSuffix(a["code.function.name"].(string), "TestLogHandler") ||
		a["code.file.path"] != "bounded.dev/tracing/tracing_test.go" || a["code.line.number"] == nil {
		t.Fatalf("event %q %v", ev.Name, a)
	}
	if a := attrs(spans[0].Events[1].Attributes); a["req.err"] != "none" || a["log.level"] != "INFO" {
		t.Fatalf("second event %v", a)
	}

	// Without a next handler, and with a minimum level.
	exp.Reset()
	only := slog.New(tracing.NewLogHandler(nil).WithLevel(slog.LevelWarn))
	ctx, end = tracedContext(t, tp)
	only.InfoContext(ctx, "dropped")
	only.WarnContext(ctx, "kept")
	end()
	if ev := exp.GetSpans()[0].Events; len(ev) != 1 || ev[0].Name != "kept" {
		t.Fatalf("events %+v", ev)
	}
}
