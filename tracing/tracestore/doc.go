// Package tracestore is the embedded default exporter for opt-in tracing:
// it keeps the most recent traces in memory, bounded, and serves them at
// /debug/traces as server-rendered HTML pages (a triage list and one page
// per trace, no script and no external asset), as plain text and as JSON.
// A [Store] is a [go.opentelemetry.io/otel/sdk/trace.SpanExporter]:
// register it with a synchronous span processor.
//
//	store := tracestore.New()
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(store))
//	defer tp.Shutdown(context.Background())
//	otel.SetTracerProvider(tp)
//	mux.Handle("GET /debug/traces", store.Handler())
//
// To also export over OTLP when the standard OTEL_* environment variables
// ask for it, so that a program runs with no external service and still
// reaches a collector, Jaeger or Tempo in production, build the provider
// with [bounded.dev/tracing/tracestore/otlpenv.NewTracerProvider] instead.
// That package is where the OTLP exporters and gRPC come from, so that this
// one stays free of them.
//
//	tp, err := otlpenv.NewTracerProvider(ctx, store)
//
// # Bounds
//
// A [Store] keeps at most [DefaultMaxTraces] traces, [DefaultMaxSpansPerTrace]
// spans per trace, [DefaultMaxValueLen] bytes of each string attribute and
// [DefaultMaxBytes] of span data in all, of which one trace may use 1/32
// (2 MiB by default); see [WithMaxTraces], [WithMaxSpansPerTrace],
// [WithMaxValueLen] and [WithMaxBytes]. The oldest trace is evicted first;
// spans beyond a trace's bounds are counted as dropped, and the pages say
// so. The byte bound is what bounds the store's memory whatever the spans
// carry.
//
// No response needs the whole store in memory: the list copies a summary
// per trace on its page (the store keeps summaries up to date as spans
// arrive), the text and JSON lists snapshot one trace at a time and stop
// adding traces to a page after 4 MiB, and every page is written into the
// ResponseWriter as it is rendered. The HTML trace page shows at most 1
// KiB of an attribute value, and 64 bytes of each value once it has shown
// 256 KiB of them. Measured at the default bounds, full of 4 KiB attributes
// (TestHandlerAtBounds; docs/traces.md has the table): an HTML list of 50
// traces is about 73 KB and allocates under 1 MB; a trace at its 2 MiB
// bound is 0.6 MB of HTML or 2.1 MB of JSON; the JSON and text lists stop
// near 4.4 MB; the costliest response, a trace of thousands of values that
// escape to four times their size, is 2.4 MB and allocates about 9 MB.
//
// # Routes and query parameters
//
// The handler ignores the request path: mount it at /debug/traces. It
// serves GET and HEAD:
//
//	(no parameter)           the list: one row per trace, most recent first,
//	                         50 a page, with a duration-over-time chart of the
//	                         1000 most recent matches and a filter form
//	trace=<id>               one trace: its waterfall and every span's
//	                         attributes and events; <id> is 32 hex digits or a
//	                         whole traceparent/Traceresponse value
//	                         (00-<trace id>-<span id>-<flags>)
//	format=html|text|json    html by default, or json when Accept asks for
//	                         application/json; text and json lists carry every
//	                         span of the traces on the page, 20 a page
//	route=<http.route>       only traces whose root span has this route
//	status=<class>           1xx ... 5xx (the root's http.response.status_code),
//	                         error (a span has status Error) or ok (none has)
//	min=<duration>           only traces at least this long: 250ms, 1.5s, or
//	                         a number of milliseconds
//	request_id=<id>          only the trace of this request.id (X-Request-Id)
//	sort=recent|longest      the most recent first (default) or the longest
//	offset=<n>, limit=<n>    paging: skip n matches (at most 16777216); show
//	                         n (1 to 200) a page
//
// The JSON list is {"traces": [...], "total": n, "offset": n, "next":
// "?..."}, next being the query of the following page when there is one;
// one trace is {"traces": [trace]}. Each trace is a [Trace]: its [Summary]
// fields and its spans in tree order.
//
// # Status codes
//
//	200  served
//	400  a malformed parameter (an unknown name, a repeated one, a bad trace
//	     id, format, status class, duration or number); the body says which
//	     and what it accepts, and nothing changes
//	401  a bearer token is configured and the request lacks it or has
//	     another (with WWW-Authenticate)
//	403  refused by the local rule (remote address, proxy header, Host not
//	     loopback or localhost: DNS rebinding) or the cross-site check
//	404  a well-formed trace id that the store does not hold (evicted, not
//	     yet ended, or never recorded)
//	405  a method other than GET and HEAD (after the checks above)
//
// # Security
//
// Traces hold request details, so the handler serves local clients only
// by default, with the rules, options and defaults of the operator console
// (bounded.dev/dflag/admin) and of opt-in tracing (bounded.dev/middleware):
// [WithLocal], [WithLocalHosts], [WithBearerToken], [WithAuthorize] and
// [WithTrustedOrigin]; any configured rule admits, and configuring a token
// or a function replaces the local rule unless WithLocal is given too.
// Requests that a browser marks as cross-site (Sec-Fetch-Site, Origin) are
// refused for every method, so no other site's page can read or load the
// traces, and a page whose name was rebound to 127.0.0.1 is refused by the
// Host check. Refusals are logged ([WithLogger]).
//
// Pages are sent with a Content-Security-Policy that admits only their own
// inline stylesheet (by hash) and GET forms to themselves, no script, with
// X-Frame-Options: DENY, Referrer-Policy: no-referrer, nosniff and
// Cache-Control: no-store. Every value is escaped by html/template, and the
// HTML page shows at most 1 KiB of an attribute value (the JSON has the
// value as stored).
package tracestore
