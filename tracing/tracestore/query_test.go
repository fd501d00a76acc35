package tracestore

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// FuzzParseTraceID checks ParseTraceID against a reference: it accepts
// exactly 32 hex digits (not all zero), or a traceparent value around them,
// and what it accepts round-trips.
func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736", "4BF92F3577B34DA6A3CE929D0E0E4736", " 4bf92f3577b34da6a3ce929d0e0e4736\t",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00000000000000000000000000000000", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"", "-", "---", "4bf92f3577b34da6a3ce929d0e0e473", "4bf92f3577b34da6a3ce929d0e0e47366", "zz", "00-xyz-00f067aa0ba902b7-01",
		"\xff\xfe", strings.Repeat("a", 10000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTraceID(s)
		plain := strings.ToLower(strings.TrimSpace(s))
		if hex32.MatchString(plain) && plain != strings.Repeat("0", 32) {
			if err != nil || id.String() != plain {
				t.Fatalf("ParseTraceID(%q) = %v, %v; want %s", s, id, err, plain)
			}
		}
		if err != nil {
			if id.IsValid() {
				t.Fatalf("error %v with a valid id", err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes echoes the input", len(err.Error()))
			}
			return
		}
		if !id.IsValid() || !strings.Contains(plain, id.String()) {
			t.Fatalf("ParseTraceID(%q) = %s", s, id)
		}
		if again, err := ParseTraceID("00-" + id.String() + "-00f067aa0ba902b7-01"); err != nil || again != id {
			t.Fatalf("traceparent of %s: %v %v", id, again, err)
		}
	})
}

// FuzzParseQuery checks that parseQuery either refuses a query with a
// short, clear error or returns values within their bounds that survive a
// round trip through the page's own links.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "format=json", "format=text&trace=4bf92f3577b34da6a3ce929d0e0e4736", "format=xml",
		"trace=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"route=%2Fitems%2F%7Bid%7D&status=5xx&min=250ms&request_id=abc&offset=50&limit=50",
		"status=ERROR", "status=6xx", "min=300", "min=1.5", "min=-1", "min=NaN", "min=1e400", "min=1h2m3s",
		"offset=-1", "offset=99999999999999999999", "limit=0", "limit=201", "route=a&route=b", "stauts=5xx",
		"tracing=1", "%zz", "sort=longest", "sort=recent", "sort=x", "route=" + strings.Repeat("x", 2000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v)
		if err != nil {
			if len(err.Error()) > 400 || strings.HasPrefix(err.Error(), "tracestore:") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if !slices.Contains([]string{"html", "text", "json"}, q.format) || q.offset < 0 || q.offset > maxOffset ||
			q.limit < 0 || q.limit > MaxPageSize || q.filter.MinDuration < 0 ||
			q.filter.Status != "" && !slices.Contains(statusClasses, q.filter.Status) {
			t.Fatalf("out of bounds: %+v", q)
		}
		// The page's links carry the same filter and paging.
		link := q.encode(q.format, q.offset)
		lv, err := url.ParseQuery(strings.TrimPrefix(link, "?"))
		if err != nil {
			t.Fatalf("link %q: %v", link, err)
		}
		back, err := parseQuery(lv)
		if err != nil {
			t.Fatalf("link %q of %q refused: %v", link, raw, err)
		}
		if back.filter != q.filter || back.offset != q.offset || back.limit != q.limit || back.format != q.format {
			t.Fatalf("round trip of %q through %q: %+v, want %+v", raw, link, back, q)
		}
	})
}
