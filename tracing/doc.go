// Package tracing is OpenTelemetry advice for requests that opt into
// tracing: child spans, events, attributes and log records as span events,
// all of the dflag kind request_tracing, so that a request that did not opt
// in pays one hook check per piece of advice, and nothing at all while no
// request is traced.
//
// A request opts in through package bounded.dev/middleware (or any code
// that calls [Begin]): it holds one activation of [Kind] for as long as it
// is in flight, which switches on every request_tracing flag, and its
// context is marked so that [Opted] reports true. The HTTP halves, server
// middleware and client transport (context propagation to outgoing
// requests), are both in package bounded.dev/middleware. Advice is written
// as the C library's DF_OPT pattern, the flag first and the request second:
//
//	var traceCache *dflag.Flag = tracing.Kind.Opt("cache", "cache lookups of traced requests")
//
//	if traceCache.On() && tracing.Opted(ctx) {
//		tracing.AddEvent(ctx, "cache miss", attribute.String("key", key))
//	}
//
// # Cost
//
// The helpers of this package ([Start], [AddEvent], [SetAttributes],
// [RecordError], [LogHandler]) are themselves gated by their own
// request_tracing flags, so calling them unguarded costs a request that did
// not opt in a function call and a hook check: in the fastest of ten
// rounds on a shared 2-vCPU AMD EPYC virtual machine (Go 1.26), about 4 ns
// for [Start] plus End and 14 ns for [AddEvent] with one attribute (building
// the attribute included), against under 1 ns for a guard of your own, and
// no allocation; docs/tracing.md has the benchmark, the command and the
// spread. Guard them with a flag of your own in hot code, or when building
// their arguments costs more than that.
//
// Spell out the flag's type, *dflag.Flag, as above: the compiler inlines
// [dflag.Flag.On] (one atomic load) only in packages that import dflag.
//
// # Flags
//
// Every flag of the kind is listed by dflag under its source line
// (request_tracing:start@bounded.dev/tracing/tracing.go:NN and so on), and
// an operator can keep any of them off with dflag.Unhook.
//
// # Log records
//
// [LogHandler] turns the records logged with a traced request's context
// into span events. Their code.file.path attribute is the source file as
// dflag names it, import/path/file.go (bounded.dev/tracing/slog.go), the
// same in every build directory, never an absolute build path.
package tracing
