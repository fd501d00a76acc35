package tracing

import (
	"bounded.dev/dflag"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var clientHook *dflag.Flag = Kind.Opt("client", "tracing.Transport: client spans and context propagation for outgoing requests of traced requests")

// propagator is what Transport injects: W3C trace context and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Transport returns an [http.RoundTripper] that sends requests through base
// ([http.DefaultTransport] if nil). For a request whose context opted into
// tracing, it starts a client span, child of the span in that context, and
// injects W3C trace context (traceparent, sampled) and baggage into a copy
// of the request, so that the server it calls joins the trace (a server
// behind package middleware opts in on a sampled traceparent when told to
// with middleware.WithSampledTraceparent). The span ends when the response
// headers have arrived (or the round trip failed). A request whose context
// did not opt in costs one hook check.
//
//	client := &http.Client{Transport: tracing.Transport(nil)}
//	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

type transport struct{ base http.RoundTripper }

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
	if !Opted(ctx) {
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
	ctx, span := tracer(ctx).Start(ctx, spanMethod(method),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	out := req.Clone(ctx) // a RoundTripper must not modify the request
	propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
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

// spanMethod is the method part of a span name: "HTTP" for unknown methods.
func spanMethod(method string) string {
	if len(methodAttributes(method)) > 1 {
		return "HTTP"
	}
	return method
}
