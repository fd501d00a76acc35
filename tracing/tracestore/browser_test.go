package tracestore_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bounded.dev/internal/browsertest"
	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var docImages = flag.Bool("docimages", false, "write the browser test's screenshots to docs/img for the documentation")

// fillForBrowser records 120 traces shaped like the example server's, with
// long route and span names, and returns a trace with an error and a
// downstream hop.
func fillForBrowser(t *testing.T, s *tracestore.Store) trace.SpanContext {
	t.Helper()
	tp := newProvider(s)
	tr := tp.Tracer("browser")
	t0 := time.Now().Add(-10 * time.Minute)
	routes := []string{"/items/{id}", "/catalogue_cache/{category}/availability", "/orders", "/pricing/{id}"}
	for i := range 119 {
		status := []int{200, 200, 200, 404, 200, 503}[i%6]
		route := routes[i%len(routes)]
		d := time.Duration(2+(i*37)%90) * time.Millisecond
		recordHTTP(tp, t0.Add(time.Duration(i)*5*time.Second), "GET", route, strings.ReplaceAll(route, "{id}", fmt.Sprint(i)), status, d, fmt.Sprintf("req-%03d", i), status == 503)
	}
	// The newest: a traced request with a downstream call that failed.
	start := time.Now().Add(-time.Second)
	ctx, root := tr.Start(context.Background(), "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/items/{id}"),
			attribute.String("url.path", "/items/42"), attribute.String("request.id", "req-newest"),
			attribute.String("user_agent.original", strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 8))))
	lctx, lookup := tr.Start(ctx, "catalogue_cache.lookup_with_a_rather_long_name", trace.WithTimestamp(start.Add(time.Millisecond)))
	_, rows := tr.Start(lctx, "db.rows", trace.WithTimestamp(start.Add(2*time.Millisecond)))
	rows.End(trace.WithTimestamp(start.Add(9 * time.Millisecond)))
	lookup.AddEvent("cache miss", trace.WithTimestamp(start.Add(1500*time.Microsecond)), trace.WithAttributes(attribute.String("key", "42")))
	lookup.End(trace.WithTimestamp(start.Add(10 * time.Millisecond)))
	cctx, call := tr.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(11*time.Millisecond)))
	_, down := tr.Start(cctx, "GET /pricing/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start.Add(12*time.Millisecond)))
	down.SetStatus(codes.Error, "pricing <unavailable>")
	down.End(trace.WithTimestamp(start.Add(30 * time.Millisecond)))
	call.End(trace.WithTimestamp(start.Add(31 * time.Millisecond)))
	root.SetAttributes(attribute.Int("http.response.status_code", 502))
	root.End(trace.WithTimestamp(start.Add(33 * time.Millisecond)))
	return root.SpanContext()
}

// listProbe measures the list page as Chromium laid it out.
const listProbe = `(() => {
	const px = (v) => parseFloat(v) || 0;
	const rows = [...document.querySelectorAll("#traces tbody tr")];
	const wrapped = [];
	for (const r of rows) {
		for (const td of r.children) {
			const lh = px(getComputedStyle(td).lineHeight) || 20;
			const inner = td.getBoundingClientRect().height - px(getComputedStyle(td).paddingTop) - px(getComputedStyle(td).paddingBottom);
			if (inner > lh * 1.5) wrapped.push(td.className + ": " + td.textContent.trim());
			for (const a of td.querySelectorAll("a, span, code")) {
				if (a.getClientRects().length > 1) wrapped.push(td.className + " element: " + a.textContent.trim());
			}
		}
	}
	const svg = document.querySelector("#chart");
	const box = svg ? svg.getBoundingClientRect() : null;
	const pts = svg ? [...svg.querySelectorAll("circle")] : [];
	const outside = pts.filter((c) => {
		const b = c.getBoundingClientRect();
		return b.width < 4 || b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1;
	}).length;
	return {
		rows: rows.length, wrapped,
		first: rows.length ? rows[0].dataset.trace : "",
		statuses: rows.map((r) => r.querySelector(".c-status").textContent.trim()),
		styled: getComputedStyle(document.querySelector("#traces") || document.body).tableLayout === "fixed",
		chartHeight: box ? box.height : 0, points: pts.length, outside,
		errPointFill: pts.filter((c) => c.classList.contains("e")).map((c) => getComputedStyle(c).fill)[0] || "",
		overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
		older: !!document.querySelector("#older"), newer: !!document.querySelector("#newer"),
		count: document.querySelector("#count").textContent,
	};
})()`

type listLayout struct {
	Rows            int
	Wrapped         []string
	First           string
	Statuses        []string
	Styled          bool
	ChartHeight     float64
	Points, Outside int
	ErrPointFill    string
	Overflow        bool
	Older, Newer    bool
	Count           string
}

// traceProbe measures a trace's page.
const traceProbe = `(() => {
	const rows = [...document.querySelectorAll("#waterfall tr.span")];
	const px = (v) => parseFloat(v) || 0;
	return {
		rows: rows.map((r) => {
			const name = r.querySelector("td.name");
			const bar = r.querySelector("rect.bar").getBoundingClientRect();
			const track = r.querySelector("svg.track").getBoundingClientRect();
			const lh = px(getComputedStyle(name).lineHeight) || 20;
			return {
				name: name.firstChild.textContent.trim(), indent: px(getComputedStyle(name).paddingLeft),
				left: bar.left - track.left, width: bar.width, trackWidth: track.width,
				err: r.querySelector("rect.bar").classList.contains("e"),
				fill: getComputedStyle(r.querySelector("rect.bar")).fill,
				oneLine: name.getBoundingClientRect().height - px(getComputedStyle(name).paddingTop) - px(getComputedStyle(name).paddingBottom) <= lh * 1.5,
			};
		}),
		open: [...document.querySelectorAll("tr.attrs details")].filter((d) => d.open && d.querySelector("table.kv").getBoundingClientRect().height > 10).length,
		marks: document.querySelectorAll("rect.mark").length,
		overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
		text: document.body.innerText,
	};
})()`

type traceLayout struct {
	Rows []struct {
		Name                            string
		Indent, Left, Width, TrackWidth float64
		Err                             bool
		Fill                            string
		OneLine                         bool
	}
	Open, Marks int
	Overflow    bool
	Text        string
}

// TestPagesInChromium renders the list and a trace's page in headless
// Chromium at two widths, under the pages' real CSP, and checks what a
// reader sees: one row per trace on 50 a page, no name wrapped, the
// stylesheet and the chart rendered, paging and filter links that work, a
// chart point that leads to its trace; the waterfall's bars inside their
// tracks and children inside their parents, the error marked, every span's
// attributes open. It saves screenshots (and, with -docimages, the ones
// in docs/img).
func TestPagesInChromium(t *testing.T) {
	browsertest.Need(t)
	s := tracestore.New()
	newest := fillForBrowser(t, s)
	mux := http.NewServeMux()
	mux.Handle("/debug/traces", s.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/debug/traces"

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	shots := t.TempDir()
	t.Logf("screenshots in %s", shots)

	for _, width := range []int{1400, 1024} {
		b.Resize(width, 900)
		b.Navigate(base)
		var l listLayout
		b.EvalInto(listProbe, &l)
		t.Logf("%dpx list: %d rows, %d points, chart %.0fpx high, count %q", width, l.Rows, l.Points, l.ChartHeight, l.Count)
		if l.Rows != tracestore.DefaultPageSize || l.First != newest.TraceID().String() || !l.Styled {
			t.Errorf("%dpx: %d rows, first %s, styled %v", width, l.Rows, l.First, l.Styled)
		}
		if len(l.Wrapped) > 0 {
			t.Errorf("%dpx: wrapped cells: %q", width, l.Wrapped)
		}
		if l.Points != 120 || l.Outside != 0 || l.ChartHeight < 100 || l.ErrPointFill != "rgb(208, 74, 74)" {
			t.Errorf("%dpx chart: %d points, %d outside, %.0fpx high, error fill %q", width, l.Points, l.Outside, l.ChartHeight, l.ErrPointFill)
		}
		if l.Overflow || !l.Older || l.Newer {
			t.Errorf("%dpx: overflow %v, older %v, newer %v", width, l.Overflow, l.Older, l.Newer)
		}
		b.Screenshot(filepath.Join(shots, fmt.Sprintf("list-%d.png", width)))
	}
	if *docImages {
		b.Resize(1400, 900)
		b.Navigate(base)
		b.Screenshot(filepath.Join("..", "..", "docs", "img", "traces-list.png"))
	}

	// Paging: older, then newer again, by real clicks.
	b.Resize(1400, 900)
	b.Navigate(base)
	b.Click("#older")
	b.WaitFor(`location.search.includes("offset=50") && document.readyState === "complete"`)
	var p2 listLayout
	b.EvalInto(listProbe, &p2)
	if p2.Rows != 50 || p2.First == newest.TraceID().String() || !p2.Newer || !p2.Older || !strings.HasPrefix(p2.Count, "51–100 of 120") {
		t.Errorf("page 2: %+v", p2)
	}
	b.Click("#older")
	b.WaitFor(`location.search.includes("offset=100") && document.readyState === "complete"`)
	var p3 listLayout
	b.EvalInto(listProbe, &p3)
	if p3.Rows != 20 || p3.Older || !p3.Newer {
		t.Errorf("last page: %d rows, older %v, newer %v", p3.Rows, p3.Older, p3.Newer)
	}
	b.Click("#newer")
	b.WaitFor(`location.search.includes("offset=50") && document.readyState === "complete"`)

	// The filter form: status 5xx.
	b.Navigate(base)
	b.Eval(`document.querySelector('select[name="status"]').value = "5xx"`)
	b.Click(`form.filters button`)
	b.WaitFor(`location.search.includes("status=5xx") && document.readyState === "complete"`)
	var f listLayout
	b.EvalInto(listProbe, &f)
	if f.Rows != 20 || f.Points != 20 {
		t.Errorf("5xx filter: %d rows, %d points", f.Rows, f.Points)
	}
	for _, st := range f.Statuses {
		if !strings.HasPrefix(st, "5") {
			t.Errorf("5xx filter shows status %q", st)
		}
	}

	// The trace id field takes a whole Traceresponse value.
	b.Navigate(base)
	tr := fmt.Sprintf("00-%s-%s-01", newest.TraceID(), newest.SpanID())
	b.Eval(`document.querySelector('input[name="trace"]').value = ` + browsertest.JSString(tr))
	b.Click(`form.filters button`)
	b.WaitFor(`document.querySelector("#waterfall") !== null && document.readyState === "complete"`)

	for _, width := range []int{1400, 1024} {
		b.Resize(width, 900)
		b.Navigate(base + "?trace=" + newest.TraceID().String())
		var tl traceLayout
		b.EvalInto(traceProbe, &tl)
		var names []string
		for _, r := range tl.Rows {
			names = append(names, r.Name)
		}
		want := "GET /items/{id}|catalogue_cache.lookup_with_a_rather_long_name|db.rows|GET|GET /pricing/{id}"
		if strings.Join(names, "|") != want {
			t.Fatalf("%dpx waterfall %q, want %q", width, names, want)
		}
		root := tl.Rows[0]
		if root.TrackWidth < 300 || root.Left > 1 || root.Width < root.TrackWidth-2 {
			t.Errorf("%dpx: root bar %+v does not span its track", width, root)
		}
		for i, r := range tl.Rows {
			if r.Width < 1 || r.Left < -0.5 || r.Left+r.Width > r.TrackWidth+0.5 {
				t.Errorf("%dpx: bar %+v outside its track", width, r)
			}
			if !r.OneLine {
				t.Errorf("%dpx: span name %q wraps", width, r.Name)
			}
			if i > 0 && r.Indent <= tl.Rows[0].Indent && r.Name != "GET /items/{id}" {
				t.Errorf("%dpx: %q not indented (%.0fpx)", width, r.Name, r.Indent)
			}
		}
		if c, p := tl.Rows[2], tl.Rows[1]; c.Left < p.Left-0.5 || c.Left+c.Width > p.Left+p.Width+0.5 {
			t.Errorf("%dpx: child %+v outside its parent %+v", width, c, p)
		}
		if !tl.Rows[4].Err || tl.Rows[4].Fill != "rgb(208, 74, 74)" || tl.Rows[0].Err {
			t.Errorf("%dpx: error marking %+v", width, tl.Rows)
		}
		if tl.Open != 5 || tl.Marks != 1 || tl.Overflow {
			t.Errorf("%dpx: %d open details, %d marks, overflow %v", width, tl.Open, tl.Marks, tl.Overflow)
		}
		if !strings.Contains(tl.Text, "pricing <unavailable>") || !strings.Contains(tl.Text, "req-newest") || !strings.Contains(tl.Text, "502") {
			t.Errorf("%dpx: the page lacks the status message, request id or status:\n%s", width, tl.Text)
		}
		b.Screenshot(filepath.Join(shots, fmt.Sprintf("trace-%d.png", width)))
	}
	if *docImages {
		b.Resize(1400, 900)
		b.Navigate(base + "?trace=" + newest.TraceID().String())
		b.Screenshot(filepath.Join("..", "..", "docs", "img", "trace.png"))
	}

	// A chart point leads to its trace.
	b.Navigate(base)
	b.Click(`#chart a circle`)
	b.WaitFor(`location.search.startsWith("?trace=") && document.querySelector("#waterfall") !== null`)

	for _, p := range b.TakeProblems() {
		if !strings.Contains(p, "favicon") {
			t.Errorf("the page reported a problem (a CSP violation?): %s", p)
		}
	}
}
