package tracestore

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"
)

var (
	//go:embed style.css
	styleCSS string
	//go:embed list.html
	listHTML string
	//go:embed trace.html
	traceHTML string
)

// pageCSP allows the pages' one inline stylesheet and GET forms to the page
// itself, and nothing else: no script, no external asset, no framing.
var pageCSP = "default-src 'none'; style-src 'sha256-" + sha256Base64(styleCSS) + "'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// dataCSP is the policy of the text and JSON responses.
const dataCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

func sha256Base64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// valueClip is how many bytes of an attribute value the HTML trace page
// shows; the JSON has the value as stored. Once a page has shown
// pageValueBudget bytes of values, it shows at most budgetClip bytes of
// each further one, so that a trace at its bound (2 MiB by default) of
// values that escape to four times their size still makes a page of a few
// MB.
const (
	valueClip       = 1024
	pageValueBudget = 256 << 10
	budgetClip      = 64
)

var funcs = template.FuncMap{
	"dur":   fmtDur,
	"pct":   func(f float64) string { return fmt.Sprintf("%.3f%%", f) },
	"rfc":   func(t time.Time) string { return t.Format(time.RFC3339Nano) },
	"clock": func(t time.Time) string { return t.Format("15:04:05.000") },
	"clipv": func(s string) string { return clipValue(s) },
}

func parsePage(name, text string) *template.Template {
	return template.Must(template.New(name).Funcs(funcs).Parse(strings.Replace(text, "/*CSS*/", styleCSS, 1)))
}

var (
	listPage  = parsePage("list", listHTML)
	tracePage = parsePage("trace", traceHTML)
)

// clipValue shortens a value for the HTML page, saying by how much.
func clipValue(s string) string { return clipTo(s, valueClip) }

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clip(s, n) + fmt.Sprintf(" (%d bytes in all; the JSON has them)", len(s))
}

// budget is what is left of a page's pageValueBudget.
type budget int

func (b *budget) value(v any) template.HTML {
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
	}
	n := valueClip
	if *b <= 0 {
		n = budgetClip
	}
	out := clipTo(s, n)
	*b -= budget(min(len(s), n))
	return template.HTML(html.EscapeString(out))
}

func statusClass(code int) string {
	if code >= 100 && code < 600 {
		return fmt.Sprintf("s%d", code/100)
	}
	return ""
}

// The list page.

type listView struct {
	Now                 time.Time
	Held, Total         int
	From, To            int
	Rows                []summaryRow
	Routes, Statuses    []string
	F                   filterView
	Chart               *chartView
	Newer, Older        string
	Refresh, JSON, Text string
}

type filterView struct{ Route, Status, Min, RequestID, Sort string }

type summaryRow struct {
	Summary
	Label, Title, PathClip, Class string
	ShowPath                      bool
}

type chartView struct {
	Points             []chartPoint
	Max, Mid, From, To string
}

type chartPoint struct {
	ID, Class, Title string
	X, Y             float64
}

func newListView(q query, limit, held int, r searchResult) listView {
	v := listView{
		Now: time.Now(), Held: held, Total: r.total, Routes: r.routes, Statuses: statusClasses,
		Refresh: q.encode("html", q.offset), JSON: q.encode("json", q.offset), Text: q.encode("text", q.offset),
		F: filterView{Route: q.filter.Route, Status: q.filter.Status, RequestID: q.filter.RequestID, Sort: q.filter.Sort},
	}
	if q.filter.MinDuration > 0 {
		v.F.Min = q.filter.MinDuration.String()
	}
	for _, sum := range r.rows {
		row := summaryRow{Summary: sum, Class: statusClass(sum.StatusCode)}
		row.Route, row.Path, row.Root = clip(sum.Route, 200), clip(sum.Path, 200), clip(sum.Root, 200)
		row.Label = row.Root
		if row.Route != "" {
			row.Label = row.Route
		}
		row.PathClip = row.Path
		row.ShowPath = row.Path != "" && row.Path != row.Label
		row.Title = strings.TrimSpace(row.Root + " " + row.Path)
		row.Hops = nil
		for _, h := range sum.Hops {
			row.Hops = append(row.Hops, clip(h, 80))
		}
		v.Rows = append(v.Rows, row)
	}
	if len(r.rows) > 0 {
		v.From, v.To = q.offset+1, q.offset+len(r.rows)
	}
	if q.offset > 0 {
		v.Newer = q.encode("html", max(q.offset-limit, 0))
	}
	if q.offset+len(r.rows) < r.total {
		v.Older = q.encode("html", q.offset+len(r.rows))
	}
	v.Chart = newChart(r.points)
	return v
}

// newChart plots duration over start time; nil without points.
func newChart(pts []point) *chartView {
	if len(pts) == 0 {
		return nil
	}
	first, last := pts[0].start, pts[0].start
	var top time.Duration
	for _, p := range pts {
		if p.start.Before(first) {
			first = p.start
		}
		if p.start.After(last) {
			last = p.start
		}
		top = max(top, p.dur)
	}
	top = niceCeil(top)
	c := &chartView{Max: fmtDur(top), Mid: fmtDur(top / 2), From: first.Format("15:04:05"), To: last.Format("15:04:05")}
	span := last.Sub(first)
	for _, p := range pts {
		x := 50.0
		if span > 0 {
			x = 3 + 94*float64(p.start.Sub(first))/float64(span)
		}
		y := 120 - 110*float64(p.dur)/float64(top)
		cls := "ok"
		switch {
		case p.err || p.code >= 500:
			cls = "e"
		case p.code >= 400:
			cls = "c4"
		}
		title := fmt.Sprintf("%s %s", p.start.Format("15:04:05.000"), fmtDur(p.dur))
		if p.code > 0 {
			title += fmt.Sprintf(" %d", p.code)
		}
		c.Points = append(c.Points, chartPoint{ID: p.id, Class: cls, Title: title, X: x, Y: y})
	}
	return c
}

// niceCeil rounds d up to 1, 2 or 5 times a power of ten (at least 1µs).
func niceCeil(d time.Duration) time.Duration {
	step := time.Microsecond
	for {
		for _, m := range []time.Duration{1, 2, 5} {
			if d <= m*step {
				return m * step
			}
		}
		if step > time.Hour {
			return d
		}
		step *= 10
	}
}

// The trace page.

type traceView struct {
	*Trace
	Class string
	Rows  []spanRow
}

// spanRow holds what the page shows of a span in fields of its own:
// html/template finds a promoted field by a reflective search that
// allocates, for every use in every row.
type spanRow struct {
	SpanID, ParentSpanID, Name, Kind, Scope, Status, StatusMessage string
	RemoteParent                                                   bool
	Duration                                                       time.Duration
	Indent                                                         int
	Left, Width                                                    float64
	Marks                                                          []markView
	Attrs                                                          []kv
	Events                                                         []eventView
}

// kv is an attribute as shown: V is already escaped, in one pass
// (html/template would convert and copy it several times).
type kv struct {
	K string
	V template.HTML
}

type markView struct {
	Left  float64
	Title string
}

type eventView struct {
	At, Name string
	Attrs    []kv
}

// maxIndent is the deepest indentation the page's stylesheet has.
const maxIndent = 12

func newTraceView(t *Trace) traceView {
	v := traceView{Trace: t, Class: statusClass(t.StatusCode), Rows: make([]spanRow, len(t.Spans))}
	values := budget(pageValueBudget)
	for i := range t.Spans {
		sp := &t.Spans[i]
		left, width := offsets(t, sp.Start, sp.Duration)
		width = max(width, 0.15) // visible however short
		if left+width > 100 {
			left = 100 - width
		}
		row := spanRow{SpanID: sp.SpanID, ParentSpanID: sp.ParentSpanID, Name: sp.Name, Kind: sp.Kind, Scope: sp.Scope,
			Status: sp.Status, StatusMessage: sp.StatusMessage, RemoteParent: sp.RemoteParent, Duration: sp.Duration,
			Indent: min(sp.Depth, maxIndent), Left: left, Width: width, Attrs: values.kvs(sp.Attributes)}
		for _, ev := range sp.Events {
			l, _ := offsets(t, ev.Time, 0)
			at := fmtDur(ev.Time.Sub(t.Start))
			row.Marks = append(row.Marks, markView{Left: min(l, 99.8), Title: ev.Name + " @" + at})
			row.Events = append(row.Events, eventView{At: at, Name: clipValue(ev.Name), Attrs: values.kvs(ev.Attributes)})
		}
		v.Rows[i] = row
	}
	return v
}

func (b *budget) kvs(m map[string]any) []kv {
	out := make([]kv, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, kv{K: clip(k, 256), V: b.value(m[k])})
	}
	return out
}
