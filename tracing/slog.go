package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/srcpath"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var logHook *dflag.Flag = Kind.Opt("slog", "tracing.LogHandler: log records of traced requests as span events")

// LogHandler is a [slog.Handler] that turns the records logged with the
// context of a request that opted into tracing into events of the span in
// that context (named after the message, with the record's attributes, its
// level as log.level and its source as code.*), and passes every record
// its next handler enables on to it. Records of traced requests become span
// events from the handler's minimum level (slog.LevelDebug by default) even
// when the next handler would drop them, so a traced request carries its
// debug logs. Log with the request's context (InfoContext, DebugContext,
// LogAttrs) for the handler to see it.
//
// For a request that did not opt in, Enabled costs the next handler's
// Enabled and, for the levels it drops, one hook check.
type LogHandler struct {
	next   slog.Handler // nil: span events only
	level  slog.Leveler
	prefix string               // open groups, "a.b."
	attrs  []attribute.KeyValue // from WithAttrs, already prefixed
}

// NewLogHandler returns a handler that adds span events for traced requests
// and passes records on to next, which may be nil (span events only).
func NewLogHandler(next slog.Handler) *LogHandler {
	return &LogHandler{next: next, level: slog.LevelDebug}
}

// WithLevel returns a copy of h that adds span events only for records at
// or above level.
func (h *LogHandler) WithLevel(level slog.Leveler) *LogHandler {
	h2 := *h
	h2.level = level
	return &h2
}

// Enabled implements [slog.Handler].
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.next != nil && h.next.Enabled(ctx, level) {
		return true
	}
	return logHook.On() && level >= h.level.Level() && Opted(ctx)
}

// Handle implements [slog.Handler].
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if logHook.On() && r.Level >= h.level.Level() && Opted(ctx) {
		h.addEvent(ctx, r)
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *LogHandler) addEvent(ctx context.Context, r slog.Record) {
	sp := trace.SpanFromContext(ctx)
	if !sp.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 4+len(h.attrs)+r.NumAttrs())
	attrs = append(attrs, attribute.String("log.level", r.Level.String()))
	if r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		// The file as dflag names flags, import/path/file.go: the same in
		// every build directory, and no absolute build path in the trace.
		attrs = append(attrs, semconv.CodeFunctionName(f.Function),
			semconv.CodeFilePath(srcpath.Of(f.Function, f.File)), semconv.CodeLineNumber(f.Line))
	}
	attrs = append(attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = appendAttr(attrs, h.prefix, a)
		return true
	})
	opts := []trace.EventOption{trace.WithAttributes(attrs...)}
	if !r.Time.IsZero() {
		opts = append(opts, trace.WithTimestamp(r.Time))
	}
	sp.AddEvent(r.Message, opts...)
}

// WithAttrs implements [slog.Handler].
func (h *LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	if h.next != nil {
		h2.next = h.next.WithAttrs(as)
	}
	h2.attrs = append([]attribute.KeyValue(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

// WithGroup implements [slog.Handler].
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	if h.next != nil {
		h2.next = h.next.WithGroup(name)
	}
	h2.prefix = h.prefix + name + "."
	return &h2
}

// appendAttr converts a slog attribute, flattening groups into dotted keys.
func appendAttr(dst []attribute.KeyValue, prefix string, a slog.Attr) []attribute.KeyValue {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			dst = appendAttr(dst, p, g)
		}
		return dst
	}
	if a.Key == "" {
		return dst
	}
	k := prefix + a.Key
	switch v.Kind() {
	case slog.KindString:
		return append(dst, attribute.String(k, v.String()))
	case slog.KindInt64:
		return append(dst, attribute.Int64(k, v.Int64()))
	case slog.KindUint64:
		if u := v.Uint64(); u <= 1<<63-1 {
			return append(dst, attribute.Int64(k, int64(u)))
		}
		return append(dst, attribute.String(k, v.String()))
	case slog.KindFloat64:
		return append(dst, attribute.Float64(k, v.Float64()))
	case slog.KindBool:
		return append(dst, attribute.Bool(k, v.Bool()))
	case slog.KindDuration:
		return append(dst, attribute.String(k, v.Duration().String()))
	case slog.KindTime:
		return append(dst, attribute.String(k, v.Time().Format(time.RFC3339Nano)))
	}
	switch x := v.Any().(type) {
	case error:
		return append(dst, attribute.String(k, x.Error()))
	case fmt.Stringer:
		return append(dst, attribute.String(k, x.String()))
	}
	return append(dst, attribute.String(k, fmt.Sprint(v.Any())))
}
