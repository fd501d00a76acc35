package tracestore_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"bounded.dev/tracing/tracestore"
	"golang.org/x/net/html"
)

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// parseHTML parses a page and counts its elements' classes, failing on any
// external asset.
func parseHTML(t *testing.T, body string) (map[string]int, *html.Node) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			counts["<"+n.Data+">"]++
			for _, a := range n.Attr {
				if a.Key == "class" {
					for _, c := range strings.Fields(a.Val) {
						counts[c]++
					}
				}
				if a.Key == "src" || a.Key == "href" && strings.Contains(a.Val, "//") {
					t.Errorf("external asset %s=%q", a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if strings.Contains(body, "ZgotmplZ") {
		t.Error("html/template refused a value")
	}
	return counts, doc
}

// checkPageHeaders checks the security headers of an HTML page, and that
// its CSP admits exactly its inline stylesheet.
func checkPageHeaders(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no stylesheet")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
		strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, " style=") {
		t.Error("the page has a script or a style attribute, which its CSP blocks")
	}
}

func TestHandler(t *testing.T) {
	s := tracestore.New()
	tp := newProvider(s)
	id := record(t, tp, "GET /items/{id}")
	id2 := record(t, tp, "POST /orders")
	var logs strings.Builder
	srv := httptest.NewServer(s.Handler(tracestore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	defer srv.Close()

	// The list: one row per trace, most recent first, and a point each in
	// the chart; no span details.
	resp, body := get(t, srv.URL+"/debug/traces")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	checkPageHeaders(t, resp, body)
	counts, _ := parseHTML(t, body)
	if counts["c-route"] != 3 || counts["<circle>"] != 2 || counts["bar"] != 0 || counts["pager"] != 1 {
		t.Fatalf("list element counts %v", counts)
	}
	if strings.Index(body, `data-trace="`+id2.String()) > strings.Index(body, `data-trace="`+id.String()) || !strings.Contains(body, "?trace="+id.String()) {
		t.Fatal("list order or trace links")
	}

	// One trace, by id and by the whole traceresponse value: its waterfall
	// with every span's attributes, the error message escaped.
	for _, ref := range []string{id.String(), "00-" + id.String() + "-0123456789abcdef-01", strings.ToUpper(id.String())} {
		resp, body = get(t, srv.URL+"/debug/traces?trace="+url.QueryEscape(ref))
		if resp.StatusCode != 200 {
			t.Fatalf("trace %s: %s %s", ref, resp.Status, body)
		}
		checkPageHeaders(t, resp, body)
		counts, _ = parseHTML(t, body)
		if counts["bar"] != 4 || counts["e"] != 1 || counts["mark"] != 2 || counts["attrs"] != 4 || counts["<details>"] != 4 {
			t.Fatalf("trace element counts %v", counts)
		}
		if strings.Contains(body, "template <broken>") || !strings.Contains(body, "template &lt;broken&gt;") ||
			!strings.Contains(body, "cache miss") || !strings.Contains(body, "/items/{id}") || strings.Contains(body, "POST /orders") {
			t.Fatalf("trace page:\n%s", body)
		}
	}

	// JSON, by query and by Accept: every span of every trace on the page.
	for _, c := range []struct{ query, accept string }{{"?format=json", ""}, {"", "application/json"}} {
		resp, body = get(t, srv.URL+"/debug/traces"+c.query, "Accept", c.accept)
		var out struct {
			Traces []tracestore.Trace
			Total  int
			Next   *string
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%v %s %.200s", err, resp.Header.Get("Content-Type"), body)
		}
		if len(out.Traces) != 2 || out.Total != 2 || out.Next != nil || out.Traces[0].Root != "POST /orders" || len(out.Traces[1].Spans) != 4 ||
			out.Traces[1].SpanCount != 4 || out.Traces[1].Errors != 1 || out.Traces[1].Route != "/items/{id}" {
			t.Fatalf("json traces %+v", out)
		}
	}

	// One trace, in text and JSON.
	_, body = get(t, srv.URL+"/debug/traces?format=text&trace="+id.String())
	if !strings.HasPrefix(body, "trace "+id.String()+"  GET /items/{id}") ||
		!strings.Contains(body, "\n      db.rows ") || !strings.Contains(body, "cache miss key=42") ||
		strings.Contains(body, "POST /orders") {
		t.Fatalf("text:\n%s", body)
	}
	_, body = get(t, srv.URL+"/debug/traces?format=json&trace="+id.String())
	var one struct{ Traces []tracestore.Trace }
	if err := json.Unmarshal([]byte(body), &one); err != nil || len(one.Traces) != 1 || one.Traces[0].TraceID != id.String() {
		t.Fatalf("%v %.300s", err, body)
	}

	for _, c := range []struct {
		url  string
		hdr  []string
		code int
	}{
		{"?trace=00000000000000000000000000000001", nil, 404},
		{"?trace=00-00000000000000000000000000000001-0123456789abcdef-01", nil, 404},
		{"?trace=00000000000000000000000000000000", nil, 400},
		{"?trace=xyz", nil, 400},
		{"?trace=" + id.String() + "0", nil, 400},
		{"?trace=00-" + id.String() + "-0123-01", nil, 400},
		{"?format=xml", nil, 400},
		{"?status=6xx", nil, 400},
		{"?min=-1s", nil, 400},
		{"?limit=0", nil, 400},
		{"?limit=100000", nil, 400},
		{"?offset=-1", nil, 400},
		{"?stauts=5xx", nil, 400},
		{"?sort=shortest", nil, 400},
		{"?sort=longest", nil, 200},
		{"?route=a&route=b", nil, 400},
		{"?status=5xx&min=1ms&route=/x&request_id=r&offset=3&limit=7&tracing=1", nil, 200},
		{"", []string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"", []string{"Forwarded", "for=203.0.113.9"}, 403},
	} {
		if resp, body := get(t, srv.URL+"/debug/traces"+c.url, c.hdr...); resp.StatusCode != c.code {
			t.Errorf("%s %v: %s %s", c.url, c.hdr, resp.Status, body)
		} else if c.code == 400 && !strings.HasPrefix(body, "tracestore: ") {
			t.Errorf("%s: error %q does not say where it comes from", c.url, body)
		}
	}
	resp, err := http.Post(srv.URL+"/debug/traces", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %s", resp.Status)
	}
	if s.Len() != 2 {
		t.Fatalf("the requests changed the store: %d traces", s.Len())
	}
	// Refusals are logged, once each, with why; bad queries are not.
	if n := strings.Count(logs.String(), "tracestore: request refused"); n != 2 || !strings.Contains(logs.String(), "X-Forwarded-For") {
		t.Errorf("%d refusals logged:\n%s", n, logs.String())
	}
}

// TestHandlerAuthorize checks the authorisation options, which mean what
// the console's and opt-in's do: any configured rule admits, no rule means
// the local rule, and a token without WithLocal locks loopback out.
func TestHandlerAuthorize(t *testing.T) {
	s := tracestore.New()
	var logs strings.Builder
	quiet := tracestore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	key := tracestore.WithAuthorize(func(r *http.Request) bool { return r.Header.Get("X-Key") == "k" })
	for _, c := range []struct {
		name         string
		opts         []tracestore.HandlerOption
		remote, host string
		hdr          []string
		code         int
	}{
		{"default, loopback", nil, "127.0.0.1:5", "127.0.0.1:8080", nil, 200},
		{"default, ::1 and localhost", nil, "[::1]:5", "localhost:8080", nil, 200},
		{"default, remote", nil, "203.0.113.9:5", "127.0.0.1:8080", nil, 403},
		{"default, rebound Host", nil, "127.0.0.1:5", "attacker.example:8080", nil, 403},
		{"default, Via", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Via", "1.1 proxy"}, 403},
		{"default, X-Client-IP", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"X-Client-IP", "203.0.113.9"}, 403},
		{"default, True-Client-IP", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"True-Client-IP", "203.0.113.9"}, 403},
		{"default, CF-Connecting-IP", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"CF-Connecting-IP", "203.0.113.9"}, 403},
		{"local host name", []tracestore.HandlerOption{tracestore.WithLocalHosts("devbox")}, "127.0.0.1:5", "devbox:8080", nil, 200},
		{"func, loopback without key", []tracestore.HandlerOption{key}, "127.0.0.1:5", "127.0.0.1:8080", nil, 403},
		{"func, remote with key", []tracestore.HandlerOption{key}, "203.0.113.9:5", "traces.example", []string{"X-Key", "k"}, 200},
		{"token, loopback without", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret")}, "127.0.0.1:5", "127.0.0.1:8080", nil, 401},
		{"token, wrong", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret")}, "203.0.113.9:5", "traces.example", []string{"Authorization", "Bearer nope"}, 401},
		{"token, remote with it", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret")}, "203.0.113.9:5", "traces.example", []string{"Authorization", "Bearer s3cret"}, 200},
		{"token and local, loopback", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret"), tracestore.WithLocal()}, "127.0.0.1:5", "127.0.0.1:8080", nil, 200},
		{"token and local, remote", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret"), tracestore.WithLocal()}, "203.0.113.9:5", "traces.example", nil, 401},
		// The cross-site check, whatever admitted the request.
		{"cross-site", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"same-origin", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://127.0.0.1:8080"}, 200},
		{"typed address", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Sec-Fetch-Site", "none"}, 200},
		{"foreign Origin", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Origin", "http://attacker.example"}, 403},
		{"null Origin", nil, "127.0.0.1:5", "127.0.0.1:8080", []string{"Origin", "null"}, 403},
		{"cross-site with token", []tracestore.HandlerOption{tracestore.WithBearerToken("s3cret")}, "203.0.113.9:5", "traces.example",
			[]string{"Authorization", "Bearer s3cret", "Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"}, 403},
		{"trusted origin", []tracestore.HandlerOption{tracestore.WithTrustedOrigin("https://ops.example.com")}, "127.0.0.1:5", "127.0.0.1:8080",
			[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://ops.example.com"}, 200},
	} {
		for _, method := range []string{"GET", "HEAD", "POST"} {
			r := httptest.NewRequest(method, "/debug/traces", nil)
			r.RemoteAddr, r.Host = c.remote, c.host
			for i := 0; i+1 < len(c.hdr); i += 2 {
				r.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			w := httptest.NewRecorder()
			s.Handler(append(c.opts, quiet)...).ServeHTTP(w, r)
			want := c.code
			if method == "POST" && want == 200 {
				want = 405
			}
			if w.Code != want {
				t.Errorf("%s, %s: %d %s, want %d", c.name, method, w.Code, w.Body, want)
			}
			if w.Code == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s: 401 without a challenge", c.name)
			}
		}
	}
	if n := strings.Count(logs.String(), "tracestore: request refused"); n < 30 {
		t.Errorf("%d refusals logged:\n%s", n, logs.String())
	}
	// An empty store says how to get a trace.
	r := httptest.NewRequest("GET", "/debug/traces", nil)
	r.RemoteAddr, r.Host = "[::1]:5", "[::1]:8080"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "tracing=1") {
		t.Fatalf("empty page: %d %s", w.Code, w.Body)
	}
	// Bad options are programming errors.
	for _, o := range []tracestore.HandlerOption{tracestore.WithBearerToken(""), tracestore.WithAuthorize(nil),
		tracestore.WithLocalHosts("devbox:80"), tracestore.WithTrustedOrigin("not an origin")} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "tracestore: ") {
					t.Errorf("bad option: panic %v", p)
				}
			}()
			s.Handler(o)
		}()
	}
}

func TestWriteTextTimes(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := tracestore.Trace{Summary: tracestore.Summary{TraceID: "t", Root: "r", Start: start, End: start.Add(10 * time.Millisecond), Duration: 10 * time.Millisecond},
		Spans: []tracestore.Span{
			{Name: "r", Start: start, End: start.Add(10 * time.Millisecond), Duration: 10 * time.Millisecond},
			{Name: "half", Depth: 1, Start: start.Add(5 * time.Millisecond), End: start.Add(10 * time.Millisecond), Duration: 5 * time.Millisecond, Status: "Error"},
		}}
	var b strings.Builder
	if err := tracestore.WriteText(&b, []tracestore.Trace{tr}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[1], "|"+strings.Repeat("=", 40)+"|") ||
		!strings.HasSuffix(lines[2], "|"+strings.Repeat(" ", 20)+strings.Repeat("!", 20)+"|") {
		t.Fatalf("bars:\n%s", b.String())
	}
}

// TestHandlerPaging follows the list's page links in every format.
func TestHandlerPaging(t *testing.T) {
	s := tracestore.New()
	tp := newProvider(s)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 120 {
		recordHTTP(tp, t0.Add(time.Duration(i)*time.Second), "GET", "/items/{id}", fmt.Sprintf("/items/%d", i), 200, time.Millisecond, fmt.Sprint(i), false)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	base := srv.URL + "/debug/traces"

	// HTML: 50, 50 and 20 rows; the older link of the last page is gone.
	link, pages := "?route=%2Fitems%2F%7Bid%7D", []int{}
	seen := map[string]bool{}
	for link != "" {
		_, body := get(t, base+link)
		rows := regexp.MustCompile(`data-trace="([0-9a-f]{32})"`).FindAllStringSubmatch(body, -1)
		for _, r := range rows {
			if seen[r[1]] {
				t.Fatalf("trace %s on two pages", r[1])
			}
			seen[r[1]] = true
		}
		pages = append(pages, len(rows))
		link = ""
		if m := regexp.MustCompile(`id="older" href="([^"]*)"`).FindStringSubmatch(body); m != nil {
			link = html.UnescapeString(m[1])
			if !strings.Contains(link, "route=") {
				t.Fatalf("older link %q drops the filter", link)
			}
		}
	}
	if fmt.Sprint(pages) != "[50 50 20]" || len(seen) != 120 {
		t.Fatalf("pages %v, %d traces", pages, len(seen))
	}

	// JSON: next until there is none.
	link, pages = "?format=json&limit=50", nil
	for link != "" {
		_, body := get(t, base+link)
		var out struct {
			Traces        []tracestore.Trace
			Total, Offset int
			Next          string
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || out.Total != 120 {
			t.Fatalf("%v %d %.200s", err, out.Total, body)
		}
		pages = append(pages, len(out.Traces))
		link = out.Next
	}
	if fmt.Sprint(pages) != "[50 50 20]" {
		t.Fatalf("json pages %v", pages)
	}

	// Text: says where the next page is.
	_, body := get(t, base+"?format=text&limit=100")
	if strings.Count(body, "\ntrace ")+1 != 100 || !strings.HasSuffix(body, "(traces 1 to 100 of 120; next page: ?format=text&limit=100&offset=100)\n") {
		t.Fatalf("text page ends %q", body[max(0, len(body)-200):])
	}
}

// FuzzHandler sends arbitrary query strings to the handler: it answers
// 200, 400 or 404, never panics, and changes nothing in the store.
func FuzzHandler(f *testing.F) {
	s := tracestore.New()
	tp := newProvider(s)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := recordHTTP(tp, t0, "GET", "/items/{id}", "/items/1", 200, 10*time.Millisecond, "req-a", false)
	recordHTTP(tp, t0.Add(time.Second), "GET", "/items/{id}", "/items/2", 503, 30*time.Millisecond, "req-b", true)
	h := s.Handler(tracestore.WithAuthorize(func(*http.Request) bool { return true }))
	for _, q := range []string{"", "format=json", "format=text", "trace=" + id.String(), "trace=00-" + id.String() + "-00f067aa0ba902b7-01&format=json",
		"status=5xx&min=1ms", "route=%2Fitems%2F%7Bid%7D&offset=1&limit=1", "trace=bad", "offset=1000", "limit=1&format=text"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/debug/traces", nil)
		r.URL.RawQuery = raw
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 404:
		default:
			t.Fatalf("%q: %d %s", raw, w.Code, w.Body)
		}
		if w.Code != 200 && !strings.HasPrefix(w.Body.String(), "tracestore: ") {
			t.Fatalf("%q: %d %q", raw, w.Code, w.Body)
		}
		if w.Code == 200 && strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%q: invalid JSON %.300s", raw, w.Body)
		}
		if s.Len() != 2 {
			t.Fatalf("%q changed the store", raw)
		}
	})
}
