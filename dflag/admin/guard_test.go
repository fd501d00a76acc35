package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

// send makes a real request and returns its status and body.
func send(t *testing.T, method, target, host, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRebindingRealServer sends, to a console on a real loopback server,
// the requests a DNS-rebinding page sends: its own name in Host. They are
// refused with 403, listings included, and change nothing.
func TestRebindingRealServer(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	srv := httptest.NewServer(admin.Handler(quiet, admin.WithLocalHosts("devbox")))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	before := snapshot(t)
	for _, host := range []string{"attacker.test" + port, "attacker.test", "localhost.attacker.test" + port, "0.0.0.0" + port} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/flags?pattern=admin_test:", ""},
			{"GET", "/history", ""},
			{"POST", "/flags", form("op", "unhook", "pattern", "")},
			{"GET", "/", ""},
		} {
			code, body := send(t, c.method, srv.URL+c.path, host, c.body, map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"})
			if code != 403 || !strings.Contains(body, "DNS-rebinding") {
				t.Errorf("Host %s: %s %s: %d %q, want 403", host, c.method, c.path, code, body)
			}
		}
	}
	sameState(t, before)
	for _, host := range []string{"", "localhost" + port, "devbox" + port, "[::1]" + port} {
		if code, body := send(t, "GET", srv.URL+"/flags", host, "", nil); code != 200 {
			t.Errorf("Host %q: %d %s", host, code, body)
		}
	}
}

// TestProxyHeadersRealServer sends each header that proxies add, from
// loopback, to a real console: each is refused and nothing changes.
func TestProxyHeadersRealServer(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	srv := httptest.NewServer(admin.Handler(quiet))
	defer srv.Close()
	before := snapshot(t)
	for _, name := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
		"Via", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "X-Cluster-Client-Ip", "X-Original-Forwarded-For",
		"X-Forwarded-Port", "Fastly-Client-Ip", "X-Envoy-External-Address", "Cdn-Loop"} {
		code, body := send(t, "POST", srv.URL+"/flags", "", form("op", "unhook", "pattern", ""), map[string]string{name: "203.0.113.9"})
		if code != 403 || !strings.Contains(body, "proxy") {
			t.Errorf("%s: %d %q", name, code, body)
		}
	}
	sameState(t, before)
}

// TestReverseProxyInFront puts httputil.ReverseProxy (Rewrite with
// SetURL, which adds none of Forwarded, X-Forwarded-*, X-Real-Ip) in front
// of the console and attacks through it as a remote browser would.
func TestReverseProxyInFront(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	console := httptest.NewServer(admin.Handler(quiet))
	defer console.Close()
	tokenConsole := httptest.NewServer(admin.Handler(quiet, admin.WithBearerToken("s3cret")))
	defer tokenConsole.Close()
	proxy := func(target string, keepHost bool) *httptest.Server {
		u, _ := url.Parse(target)
		return httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			if keepHost {
				r.Out.Host = r.In.Host
			}
		}})
	}
	plain, keeping, toToken := proxy(console.URL, false), proxy(console.URL, true), proxy(tokenConsole.URL, false)
	defer plain.Close()
	defer keeping.Close()
	defer toToken.Close()
	before := snapshot(t)
	browser := map[string]string{"Origin": "https://ops.example.com", "Sec-Fetch-Site": "same-origin"}
	for _, c := range []struct {
		name    string
		front   string
		method  string
		body    string
		header  map[string]string
		want    int
		explain string
	}{
		{"browser POST through SetURL", plain.URL, "POST", form("op", "unhook", "pattern", ""), browser, 403, "Origin"},
		{"browser listing through SetURL", plain.URL, "GET", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		{"any client, proxy keeps Host", keeping.URL, "POST", form("op", "unhook", "pattern", ""), nil, 403, "DNS-rebinding"},
		{"any client, token console", toToken.URL, "POST", form("op", "unhook", "pattern", ""), nil, 401, "bearer"},
	} {
		code, body := send(t, c.method, c.front+"/flags", "ops.example.com", c.body, c.header)
		if code != c.want || !strings.Contains(body, c.explain) {
			t.Errorf("%s: %d %q, want %d mentioning %q", c.name, code, body, c.want, c.explain)
		}
	}
	sameState(t, before)
	// The documented limit: a non-browser client of a proxy that rewrites
	// Host to the console's loopback address and adds no header looks
	// local. docs/security.md says so and recommends a token.
	if code, _ := send(t, "GET", plain.URL+"/flags", "ops.example.com", "", nil); code != 200 {
		t.Errorf("the documented limit changed: %d; update docs/security.md", code)
	}
}

// TestTermFlood posts 2,001 terms in one request: refused before any
// applies, with one log record; and terms, not requests, are charged to
// the change limit.
func TestTermFlood(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	var buf bytes.Buffer
	var mu sync.Mutex
	h := admin.Handler(admin.WithLogger(slog.New(slog.NewJSONHandler(lockedWriter{&buf, &mu}, nil))))
	before := snapshot(t)
	flood := strings.TrimSpace(strings.Repeat("+admin_test:alpha ", 2001))
	w := serve(h, request("POST", "/flags", form("spec", flood)))
	if w.Code != 413 || !strings.Contains(w.Body.String(), "2001 terms; at most 32") {
		t.Errorf("flood: %d %s", w.Code, w.Body)
	}
	sameState(t, before)
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("flood logged %d lines, want 1:\n%s", n, buf.String())
	}

	// A burst of 5 terms: a spec of 3, then one of 3, is refused whole.
	h = admin.Handler(quiet, admin.WithRateLimit(0.001, 5), admin.WithMaxTerms(100))
	post(t, h, form("spec", "+admin_test:alpha -admin_test:alpha ?admin_test:alpha"))
	before = snapshot(t)
	w = serve(h, request("POST", "/flags", form("spec", "+admin_test:alpha -admin_test:alpha ?admin_test:alpha")))
	if w.Code != 429 || !strings.Contains(w.Body.String(), "3 terms") {
		t.Errorf("second spec: %d %s", w.Code, w.Body)
	}
	sameState(t, before)
	// The burst caps the terms per request: 6 terms can never apply.
	w = serve(h, request("POST", "/flags", form("spec", strings.Repeat("?admin_test:alpha ", 6))))
	if w.Code != 413 || !strings.Contains(w.Body.String(), "at most 5") {
		t.Errorf("spec over the burst: %d %s", w.Code, w.Body)
	}
	post(t, h, form("spec", "?admin_test:alpha ?admin_test:alpha"))
}

// TestListingLimit counts listings against a limit of their own.
func TestListingLimit(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, admin.WithListRateLimit(0.001, 2))
	for i := range 2 {
		if w := serve(h, request("GET", "/flags", "")); w.Code != 200 {
			t.Fatalf("listing %d: %d", i, w.Code)
		}
	}
	if w := serve(h, request("GET", "/history", "")); w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("third listing: %d %s", w.Code, w.Body)
	}
	post(t, h, form("op", "rehook", "pattern", "admin_test:alpha")) // changes have their own bucket
}

// TestCrossSiteBeforeCompile: a cross-site listing is refused before its
// pattern is looked at, so an <img> cannot make the console compile one.
func TestCrossSiteBeforeCompile(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	r := request("GET", "/flags?pattern="+url.QueryEscape("(((")+"", "")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := serve(h, r); w.Code != 403 {
		t.Errorf("cross-site listing with a bad pattern: %d %s (want 403 before the pattern is compiled)", w.Code, w.Body)
	}
}

// TestWarnings: an operation that matches nothing says so in the answer.
func TestWarnings(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	resp := post(t, h, form("spec", "-breakr: ?admin_test:alpha"))
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], `deactivate "breakr:" matched no flag`) {
		t.Errorf("warnings %q", resp.Warnings)
	}
	if resp := post(t, h, form("op", "rehook", "pattern", "admin_test:alpha")); resp.Warnings != nil {
		t.Errorf("warnings for a matching op: %q", resp.Warnings)
	}
}

// TestHistory: changes are kept, newest first, in a bounded ring.
func TestHistory(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, admin.WithHistory(2))
	post(t, h, form("op", "rehook", "pattern", "admin_test:alpha"))
	post(t, h, form("op", "rehook", "pattern", "nomatch:"))
	r := request("POST", "/flags", form("spec", "?admin_test:beta ?admin_test:alpha"))
	r.Header.Set("Authorization", "Bearer x")
	serve(h, r)
	r = request("GET", "/history", "")
	w := serve(h, r)
	var got struct{ Changes []admin.Change }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	if len(got.Changes) != 2 {
		t.Fatalf("history %+v, want 2 entries", got.Changes)
	}
	first, second := got.Changes[0], got.Changes[1]
	if len(first.Results) != 2 || first.Matched != 2 || first.Who != "console:bearer (127.0.0.1:40000)" || first.Time.IsZero() {
		t.Errorf("newest %+v", first)
	}
	if second.Results[0].Pattern != "nomatch:" || second.Matched != 0 || len(second.Warnings) != 1 {
		t.Errorf("older %+v", second)
	}
	if w := serve(admin.Handler(quiet, admin.WithHistory(0)), request("GET", "/history", "")); strings.TrimSpace(w.Body.String()) != `{"changes":[]}` {
		t.Errorf("no history: %s", w.Body)
	}
	dflag.Rehook("admin_test:")
}

func TestBadOptionsPanic(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	for name, opt := range map[string]admin.Option{
		"host with port": admin.WithLocalHosts("devbox:80"),
		"bad origin":     admin.WithTrustedOrigin("ops.example.com"),
		"nil authorize":  admin.WithAuthorize(nil),
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "admin: ") {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			admin.Handler(opt)
		}()
	}
}

// TestOneVocabulary: WithAuthorize, WithBearerToken and WithLocal mean
// "any of these admits", as in the middleware.
func TestOneVocabulary(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	remote := func(auth, hdr string) *http.Request {
		r := request("GET", "/flags", "")
		r.RemoteAddr, r.Host = "192.0.2.7:5000", "ops.example.com"
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if hdr != "" {
			r.Header.Set("X-Ops", hdr)
		}
		return r
	}
	byHeader := admin.WithAuthorize(func(r *http.Request) bool { return r.Header.Get("X-Ops") == "yes" })
	for _, c := range []struct {
		name string
		h    http.Handler
		r    *http.Request
		want int
	}{
		{"token locks loopback out", admin.Handler(quiet, admin.WithBearerToken("t")), request("GET", "/flags", ""), 401},
		{"token and local: loopback", admin.Handler(quiet, admin.WithBearerToken("t"), admin.WithLocal()), request("GET", "/flags", ""), 200},
		{"token and local: remote token", admin.Handler(quiet, admin.WithBearerToken("t"), admin.WithLocal()), remote("Bearer t", ""), 200},
		{"authorize: admits", admin.Handler(quiet, byHeader), remote("", "yes"), 200},
		{"authorize: refuses loopback", admin.Handler(quiet, byHeader), request("GET", "/flags", ""), 403},
		{"authorize or token", admin.Handler(quiet, byHeader, admin.WithBearerToken("t")), remote("Bearer t", ""), 200},
		{"authorize or token: neither", admin.Handler(quiet, byHeader, admin.WithBearerToken("t")), remote("Bearer u", "no"), 401},
	} {
		if w := serve(c.h, c.r); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}
}

// TestPatternBomb lists and posts the pattern of issue 10 (27 KB of
// (.{1000}) repeated): dflag's bounds refuse it with 400 before it
// compiles, cross-site it is refused with 403 before it is looked at, and
// a spec holding it changes nothing.
func TestPatternBomb(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	bomb := strings.Repeat("(.{1000})", 3000)
	small := strings.Repeat("(.{1000})", 20) // under the length limit, over the cost limit
	for _, p := range []string{bomb, small} {
		r := request("GET", "/flags?pattern="+url.QueryEscape(p), "")
		if w := serve(h, r); w.Code != 400 || !strings.Contains(w.Body.String(), "limit") {
			t.Errorf("listing a %d-byte bomb: %d %.200s", len(p), w.Code, w.Body)
		}
		r = request("GET", "/flags?pattern="+url.QueryEscape(p), "")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if w := serve(h, r); w.Code != 403 {
			t.Errorf("cross-site bomb: %d", w.Code)
		}
	}
	before := snapshot(t)
	w := serve(h, request("POST", "/flags", form("spec", "+admin_test:alpha -"+small)))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "limit") {
		t.Errorf("spec with a bomb: %d %.200s", w.Code, w.Body)
	}
	sameState(t, before)
}
