package middleware

import (
	"net"
	"net/http"
	"strconv"

	"bounded.dev/dflag"
	"bounded.dev/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var clientHook *dflag.Flag = tracing.Kind.Opt("client", "middleware.Transport: client spans and context propagation for outgoing requests of traced requests")

// Transport returns an [http.RoundTripper] that sends requests through base
// ([http.DefaultTransport] if nil), the client half of this package. For a
// request whose context opted into tracing ([tracing.Opted]: a request
// traced by [Tracing], or work started with [tracing.Begin]) it starts a
// client span, child of the span in that context, and injects the trace
// context (traceparent, sampled) and baggage into a copy of the request, so
// that the server it calls joins the trace: a server behind [Tracing]
// continues the trace of a sampled traceparent when told to with
// [WithSampledTraceparent]. The span ends when the response headers have
// arrived (or the round trip failed). A request whose context did not opt
// in costs one hook check.
//
// Of the options, Transport uses [WithTracerProvider] (default: the
// provider of the span in the request's context, else the global one) and
// [WithPropagator] (default: W3C trace context and baggage), with the same
// meaning as for [Tracing]; the others concern the server and are ignored.
//
//	client := &http.Client{Transport: middleware.Transport(nil)}
//	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
func Transport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	c := newConfig(opts)
	return &transport{base: base, tp: c.tp, propagator: c.propagator}
}

type transport struct {
	base       http.RoundTripper
	tp         trace.TracerProvider // nil: from the context
	propagator propagation.TextMapPropagator
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !clientHook.On() {
		return t.base.RoundTrip(req)
	}
	return t.roundTrip(req)
}

//go:noinline // keeps the caller's fast path inlinable
func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !tracing.Opted(ctx) {
		return t.base.RoundTrip(req)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host, port := req.URL.Hostname(), req.URL.Port()
	attrs := append(methodAttributes(method),
		semconv.ServerAddress(host),
		semconv.URLFull(redactedURL(req)),
	)
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	} else if req.URL.Scheme == "https" {
		attrs = append(attrs, semconv.ServerPort(443))
	} else if req.URL.Scheme == "http" {
		attrs = append(attrs, semconv.ServerPort(80))
	}
	tp := t.tp
	if tp == nil {
		if sp := trace.SpanFromContext(ctx); sp.SpanContext().IsValid() {
			tp = sp.TracerProvider()
		} else {
			tp = otel.GetTracerProvider()
		}
	}
	ctx, span := tp.Tracer(ScopeName).Start(ctx, spanName(method, ""),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	out := req.Clone(ctx) // a RoundTripper must not modify the request
	t.propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if why := resp.Header.Get(RefusedHeader); why != "" {
		// The server did not continue the trace: the trace says so.
		span.AddEvent("child refused", trace.WithAttributes(RefusedKey.String(why)))
	}
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, "")
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
	}
	return resp, nil
}

// redactedURL is the request URL without user information and without the
// query string, which may hold credentials.
func redactedURL(req *http.Request) string {
	u := *req.URL
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

func errorType(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "timeout"
	}
	return "_OTHER"
}
