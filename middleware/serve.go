package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"bounded.dev/tracing"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the server spans.
const ScopeName = "bounded.dev/middleware"

// RequestIDKey is the span attribute that holds a traced request's id.
const RequestIDKey = attribute.Key("request.id")

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// RequestID returns the id the middleware gave the traced request whose
// context is ctx (the X-Request-Id response header), or "" if the request
// was not traced.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RefusedHeader is the response header that tells a request that asked to
// be traced, and was not, why: its value is one of the Refused* reasons.
// [Transport] records it on its client span as a "child refused" event
// (attribute [RefusedKey]), so that the caller's trace shows where it
// stops.
const RefusedHeader = "X-Tracing-Refused"

// RefusedKey is the attribute of a "child refused" event: the value of the
// callee's [RefusedHeader].
const RefusedKey = attribute.Key("tracing.refused")

// The values of [RefusedHeader].
const (
	RefusedCrossSite    = "cross-site"   // a browser sent it from another site (Sec-Fetch-Site, Origin)
	RefusedUnauthorized = "unauthorized" // no rule admits it (for the local rule: not loopback, a Host that is not local, a proxy header)
	RefusedConcurrency  = "concurrency"  // WithMaxConcurrent traced requests are in flight
	RefusedRate         = "rate"         // the WithRateLimit bucket is empty
)

// refusal is why a request that asked is not traced.
type refusal struct {
	reason string // a Refused* value
	detail string // for the log
}

// serveAsking serves a request that asked to be traced (sig says how).
func (h *handler) serveAsking(w http.ResponseWriter, r *http.Request, sig int) {
	if no := h.admit(r, sig); no.reason != "" {
		if h.cfg.logger != nil {
			h.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "tracing opt-in refused",
				slog.String("reason", no.detail), slog.String("remote", r.RemoteAddr),
				slog.String("method", r.Method), slog.String("path", r.URL.Path))
		}
		w.Header().Set(RefusedHeader, no.reason)
		h.next.ServeHTTP(w, r)
		return
	}
	defer h.inflight.Add(-1) // runs last: the slot outlives the activation

	ctx, end := tracing.Begin(r.Context())
	defer end() // the activation is held until the handler has returned

	ctx = h.cfg.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsSampled() {
		// The request asked to be traced: that overrides the caller's
		// decision not to sample.
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc.WithTraceFlags(sc.TraceFlags().WithSampled(true)))
	}
	tp := h.cfg.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	id := uuid.NewString()
	route := route(r.Pattern)
	ctx, span := tp.Tracer(ScopeName).Start(ctx, spanName(r.Method, route),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(serverAttributes(r, route, id)...))
	ctx = context.WithValue(ctx, requestIDKey{}, id)

	hdr := w.Header()
	if sc := span.SpanContext(); sc.IsValid() {
		hdr.Set("Traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
	}
	if h.cfg.idHeader != "" {
		hdr.Set(h.cfg.idHeader, id)
	}

	rec := &recorder{span: span}
	r2 := r.WithContext(ctx)
	defer func() {
		if v := recover(); v != nil {
			h.finish(span, rec, r, r2, v, debug.Stack())
			panic(v) // after the span has recorded it; end and the slot follow
		}
		h.finish(span, rec, r, r2, nil, nil)
	}()
	h.next.ServeHTTP(rec.wrap(w), r2)
}

// admit decides whether a request that asked (sig says how) may be traced;
// it takes a slot and returns the zero refusal, or says why not. A request
// that continues the trace of an admitted caller (askParent) needs a slot
// but no token of the rate limit: its trace was already paid for.
func (h *handler) admit(r *http.Request, sig int) refusal {
	if no := h.authorize(r); no.reason != "" {
		return no
	}
	if n := h.inflight.Add(1); h.cfg.maxConcurrent > 0 && n > h.cfg.maxConcurrent {
		h.inflight.Add(-1)
		return refusal{RefusedConcurrency, "too many traced requests in flight"}
	}
	if sig != askParent && h.bucket != nil && !h.bucket.Take() {
		h.inflight.Add(-1)
		return refusal{RefusedRate, "rate limit on new traced requests"}
	}
	return refusal{}
}

// finish completes the server span after the handler returned or panicked
// (p is the panic value, stack its stack).
func (h *handler) finish(span trace.Span, rw *recorder, r, r2 *http.Request, p any, stack []byte) {
	if rt := route(r2.Pattern); rt != "" && rt != route(r.Pattern) {
		span.SetName(spanName(r.Method, rt))
		span.SetAttributes(semconv.HTTPRoute(rt))
	}
	if rw.status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(rw.status))
	}
	span.SetAttributes(semconv.HTTPResponseBodySize(int(rw.written)))
	if err := context.Cause(r.Context()); err != nil {
		span.AddEvent("request context done", trace.WithAttributes(attribute.String("cause", err.Error())))
	}
	switch {
	case p != nil:
		typ := fmt.Sprintf("%T", p)
		msg := fmt.Sprint(p)
		if p == http.ErrAbortHandler {
			msg = "handler aborted the response (http.ErrAbortHandler)"
		}
		span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
			semconv.ExceptionType(typ), semconv.ExceptionMessage(msg), semconv.ExceptionStacktrace(string(stack))))
		span.SetAttributes(semconv.ErrorTypeKey.String(typ))
		span.SetStatus(codes.Error, "panic: "+msg)
	case rw.status >= 500:
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(rw.status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// route turns a ServeMux pattern ("GET example.com/items/{id}") into an
// http.route ("/items/{id}").
func route(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

// spanName is "{method} {route}", or the method alone without a route, as
// the semantic conventions name server spans.
func spanName(method, route string) string {
	m := method
	if len(methodAttributes(method)) > 1 {
		m = "HTTP"
	}
	if route == "" {
		return m
	}
	return m + " " + route
}

// methodAttributes returns http.request.method as the semantic conventions
// want it: a known method as is, anything else as _OTHER with the original
// in http.request.method_original.
func methodAttributes(method string) []attribute.KeyValue {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace, "QUERY":
		return []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(method)}
	}
	return []attribute.KeyValue{semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(method)}
}

// serverAttributes are the attributes known when the span starts.
func serverAttributes(r *http.Request, route, id string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs, methodAttributes(r.Method)...)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs = append(attrs, semconv.URLPath(r.URL.Path), semconv.URLScheme(scheme), RequestIDKey.String(id))
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if host, port := splitHostPort(r.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if host, port := splitHostPort(r.RemoteAddr); host != "" {
		attrs = append(attrs, semconv.ClientAddress(host), semconv.NetworkPeerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(port))
		}
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	switch {
	case r.ProtoMajor == 1:
		attrs = append(attrs, semconv.NetworkProtocolVersion("1."+strconv.Itoa(r.ProtoMinor)))
	case r.ProtoMajor > 1:
		attrs = append(attrs, semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor)))
	}
	if r.ContentLength > 0 {
		attrs = append(attrs, semconv.HTTPRequestBodySize(int(r.ContentLength)))
	}
	return attrs
}

// splitHostPort splits "host:port", "[::1]:port" or a bare host.
func splitHostPort(hp string) (host string, port int) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return strings.Trim(hp, "[]"), 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}
