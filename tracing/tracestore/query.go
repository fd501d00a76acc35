package tracestore

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Paging bounds of the list.
const (
	DefaultPageSize = 50  // traces per page of the HTML list
	DefaultDumpSize = 20  // traces per page of the text and JSON lists, which carry every span
	MaxPageSize     = 200 // the largest ?limit= accepted
	maxOffset       = 1 << 24
)

// query is a parsed request to the handler.
type query struct {
	format string        // "html", "text" or "json"
	trace  trace.TraceID // valid when one trace is asked for
	filter Filter
	offset int
	limit  int // 0: the format's default
}

// queryParams are the parameters the handler knows; "tracing" is the
// opt-in parameter of the tracing middleware, which may sit in front.
var queryParams = []string{"format", "trace", "route", "status", "min", "request_id", "sort", "offset", "limit", "tracing"}

// parseQuery parses the handler's query parameters. Every error says which
// parameter is wrong and what it accepts; an unknown parameter is an error
// too, so that a typo does not silently list everything.
func parseQuery(v url.Values) (query, error) {
	var q query
	for k, vs := range v {
		if !slices.Contains(queryParams, k) {
			return q, fmt.Errorf("unknown parameter %q: use %s", clip(k, 64), strings.Join(queryParams[:9], ", "))
		}
		if len(vs) > 1 {
			return q, fmt.Errorf("parameter %q given %d times: give it once", k, len(vs))
		}
	}
	switch q.format = v.Get("format"); q.format {
	case "", "html":
		q.format = "html"
	case "json":
	case "text", "txt":
		q.format = "text"
	default:
		return q, fmt.Errorf("format %q: use html, text or json", clip(q.format, 64))
	}
	if s := v.Get("trace"); s != "" {
		id, err := ParseTraceID(s)
		if err != nil {
			return q, fmt.Errorf("trace: %w", err)
		}
		q.trace = id
	}
	q.filter.Route = v.Get("route")
	if len(q.filter.Route) > 1024 {
		return q, errors.New("route: longer than 1024 bytes")
	}
	q.filter.RequestID = strings.TrimSpace(v.Get("request_id"))
	if len(q.filter.RequestID) > 256 {
		return q, errors.New("request_id: longer than 256 bytes")
	}
	if s := v.Get("status"); s != "" {
		s = strings.ToLower(s)
		if !slices.Contains(statusClasses, s) {
			return q, fmt.Errorf("status %q: use one of %s", clip(s, 64), strings.Join(statusClasses, ", "))
		}
		q.filter.Status = s
	}
	if s := strings.TrimSpace(v.Get("min")); s != "" {
		d, err := parseMin(s)
		if err != nil {
			return q, err
		}
		q.filter.MinDuration = d
	}
	switch s := v.Get("sort"); s {
	case "", "recent":
	case "longest":
		q.filter.Sort = s
	default:
		return q, fmt.Errorf("sort %q: use %s", clip(s, 64), strings.Join(sortOrders, " or "))
	}
	var err error
	if q.offset, err = intParam(v, "offset", 0, maxOffset); err != nil {
		return q, err
	}
	if q.limit, err = intParam(v, "limit", 1, MaxPageSize); err != nil {
		return q, err
	}
	return q, nil
}

// parseMin parses a minimum duration: Go's syntax ("250ms", "1.5s") or a
// bare number of milliseconds.
func parseMin(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		if ms < 0 || ms > 1e9 || ms != ms {
			return 0, fmt.Errorf("min %q: out of range (0 to 1e9 ms)", clip(s, 64))
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("min %q: not a duration: use for example 250ms, 1.5s or 300 (milliseconds)", clip(s, 64))
	}
	return d, nil
}

func intParam(v url.Values, name string, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q: use a whole number from %d to %d", name, clip(s, 64), lo, hi)
	}
	return n, nil
}

// ParseTraceID parses a trace id as it appears in the wild: 32 hexadecimal
// digits, or a whole W3C traceparent or traceresponse header value
// ("00-<trace id>-<span id>-<flags>"), as the tracing middleware returns in
// Traceresponse. Upper-case digits and surrounding spaces are accepted; an
// all-zero id is not.
func ParseTraceID(s string) (trace.TraceID, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	raw := s
	if strings.Count(s, "-") >= 3 {
		parts := strings.Split(s, "-")
		if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || !isHex(parts[0]) ||
			len(parts[2]) != 16 || !isHex(parts[2]) || len(parts[3]) != 2 || !isHex(parts[3]) ||
			parts[0] == "00" && len(parts) != 4 {
			return trace.TraceID{}, fmt.Errorf("%q is not a trace id or a traceparent value (00-<32 hex digits>-<16 hex digits>-<2 hex digits>)", clip(raw, 80))
		}
		s = parts[1]
	}
	if len(s) != 32 || !isHex(s) {
		return trace.TraceID{}, fmt.Errorf("%q is not a trace id: want 32 hexadecimal digits or a traceresponse value", clip(raw, 80))
	}
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		return trace.TraceID{}, fmt.Errorf("%q is not a valid trace id (all zeros)", clip(raw, 80))
	}
	return id, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// encode returns the query string of q for a link, with offset replaced.
func (q query) encode(format string, offset int) string {
	v := url.Values{}
	if format != "html" {
		v.Set("format", format)
	}
	if q.filter.Route != "" {
		v.Set("route", q.filter.Route)
	}
	if q.filter.Status != "" {
		v.Set("status", q.filter.Status)
	}
	if q.filter.MinDuration > 0 {
		v.Set("min", q.filter.MinDuration.String())
	}
	if q.filter.RequestID != "" {
		v.Set("request_id", q.filter.RequestID)
	}
	if q.filter.Sort != "" {
		v.Set("sort", q.filter.Sort)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if q.limit > 0 {
		v.Set("limit", strconv.Itoa(q.limit))
	}
	return "?" + v.Encode()
}
