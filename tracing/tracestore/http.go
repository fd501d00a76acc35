package tracestore

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"bounded.dev/internal/httpguard"
)

// HandlerOption configures [Store.Handler].
type HandlerOption func(*handler)

// WithAuthorize replaces the default rule (loopback clients whose request
// carries no forwarding header) with allow: the handler serves exactly the
// requests for which allow returns true, and refuses the others with 403
// Forbidden. Traces hold request details (paths, attributes, log records):
// do not serve them to anyone who may not read those.
func WithAuthorize(allow func(*http.Request) bool) HandlerOption {
	return func(h *handler) { h.allow = allow }
}

type handler struct {
	store *Store
	allow func(*http.Request) bool
}

// Handler returns the debug page for the store's traces, to be mounted at
// /debug/traces (it ignores the request path). It serves, for GET and HEAD:
//
//	?format=html (default)  the traces as a waterfall of spans each
//	?format=text            the same as plain text, for curl
//	?format=json            {"traces": [...]} (also when Accept asks for application/json)
//	&trace=<trace id>       only that trace (404 Not Found when it is not held)
//
// Traces are listed most recent first. By default only loopback clients
// whose request carries no forwarding header are served; see
// [WithAuthorize].
func (s *Store) Handler(opts ...HandlerOption) http.Handler {
	h := &handler{store: s, allow: httpguard.Local}
	for _, o := range opts {
		o(h)
	}
	return h
}

// ServeHTTP serves the traces; see [Store.Handler].
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.allow(r) {
		http.Error(w, "forbidden: traces are served to loopback clients only unless configured otherwise", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	var traces []Trace
	if id := q.Get("trace"); id != "" {
		t, ok := h.store.Trace(strings.ToLower(strings.TrimSpace(id)))
		if !ok {
			http.Error(w, "trace "+id+" not found (evicted, not yet ended, or never recorded)", http.StatusNotFound)
			return
		}
		traces = []Trace{t}
	} else {
		traces = h.store.Traces()
	}
	format := q.Get("format")
	if format == "" && acceptsJSON(r) {
		format = "json"
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Traces []Trace `json:"traces"`
		}{traces})
	case "text", "txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err = WriteText(&buf, traces)
	case "", "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err = page.Execute(&buf, pageData{Traces: views(traces), One: q.Get("trace") != "", Now: time.Now()})
	default:
		http.Error(w, "unknown format "+format+": use html, text or json", http.StatusBadRequest)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

func acceptsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

// WriteText writes traces as a plain-text waterfall, one line per span and
// per event, as the handler serves with ?format=text.
func WriteText(w io.Writer, traces []Trace) error {
	const barWidth = 40
	var b strings.Builder
	if len(traces) == 0 {
		b.WriteString("no traces yet: send a request that opts in (for example ?tracing=1)\n")
	}
	for _, t := range traces {
		fmt.Fprintf(&b, "trace %s  %s  %s  %d spans  %s\n", t.TraceID, t.Root, fmtDur(t.Duration),
			len(t.Spans), t.Start.Format(time.RFC3339Nano))
		if t.DroppedSpans > 0 {
			fmt.Fprintf(&b, "  (%d spans dropped)\n", t.DroppedSpans)
		}
		for _, sp := range t.Spans {
			left, width := offsets(t, sp.Start, sp.Duration)
			from := int(left / 100 * barWidth)
			n := max(1, int(width/100*barWidth+0.5))
			from = min(from, barWidth-1)
			n = min(n, barWidth-from)
			mark := "="
			if sp.Status == "Error" {
				mark = "!"
			}
			bar := strings.Repeat(" ", from) + strings.Repeat(mark, n) + strings.Repeat(" ", barWidth-from-n)
			name := strings.Repeat("  ", sp.Depth) + sp.Name
			fmt.Fprintf(&b, "  %-44s %10s |%s|\n", clip(name, 44), fmtDur(sp.Duration), bar)
			for _, k := range sortedKeys(sp.Attributes) {
				fmt.Fprintf(&b, "  %s    %s=%v\n", strings.Repeat("  ", sp.Depth), k, sp.Attributes[k])
			}
			for _, ev := range sp.Events {
				fmt.Fprintf(&b, "  %s    @%s %s", strings.Repeat("  ", sp.Depth), fmtDur(ev.Time.Sub(t.Start)), ev.Name)
				for _, k := range sortedKeys(ev.Attributes) {
					fmt.Fprintf(&b, " %s=%v", k, ev.Attributes[k])
				}
				b.WriteByte('\n')
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// fmtDur rounds a duration for display.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}

// offsets returns where an interval sits in its trace, in percent.
func offsets(t Trace, start time.Time, d time.Duration) (left, width float64) {
	if t.Duration <= 0 {
		return 0, 100
	}
	left = float64(start.Sub(t.Start)) / float64(t.Duration) * 100
	width = float64(d) / float64(t.Duration) * 100
	left = min(max(left, 0), 100)
	width = min(max(width, 0), 100-left)
	return left, width
}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"dur": fmtDur,
	"pct": func(f float64) string { return fmt.Sprintf("%.3f%%", f) },
	"rfc": func(t time.Time) string { return t.Format(time.RFC3339Nano) },
	"clock": func(t time.Time) string {
		return t.Format("15:04:05.000")
	},
}).Parse(pageHTML))

type pageData struct {
	Traces []traceView
	One    bool
	Now    time.Time
}

type traceView struct {
	Trace
	Rows   []rowView
	Errors int
}

type rowView struct {
	Span
	Left, Width float64
	Marks       []markView
}

type markView struct {
	Left  float64
	Title string
}

func views(traces []Trace) []traceView {
	out := make([]traceView, len(traces))
	for i, t := range traces {
		v := traceView{Trace: t, Rows: make([]rowView, len(t.Spans))}
		for j, sp := range t.Spans {
			left, width := offsets(t, sp.Start, sp.Duration)
			row := rowView{Span: sp, Left: left, Width: width}
			for _, ev := range sp.Events {
				l, _ := offsets(t, ev.Time, 0)
				row.Marks = append(row.Marks, markView{Left: l, Title: ev.Name + " @" + fmtDur(ev.Time.Sub(t.Start))})
			}
			if sp.Status == "Error" {
				v.Errors++
			}
			v.Rows[j] = row
		}
		out[i] = v
	}
	return out
}
