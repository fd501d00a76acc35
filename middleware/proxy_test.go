package middleware_test

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"bounded.dev/middleware"
)

// TestThroughRealProxies puts real httputil.ReverseProxy servers on
// loopback in front of a real traced server: every header a proxy adds
// makes its clients non-local, so a remote client's ?tracing=1 is
// refused. A proxy that adds no header and rewrites Host is what the local
// rule cannot see (the documented limit): behind it, only a bearer token
// keeps opt-in closed.
func TestThroughRealProxies(t *testing.T) {
	rec := &recorder{}
	local := httptest.NewServer(middleware.Tracing(rec.mux()))
	defer local.Close()
	tokenOnly := httptest.NewServer(middleware.Tracing(rec.mux(), middleware.WithBearerToken("s3cret")))
	defer tokenOnly.Close()

	proxy := func(backend string, rewrite func(*httputil.ProxyRequest)) *httptest.Server {
		u, _ := url.Parse(backend)
		return httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			rewrite(pr)
		}})
	}
	header := func(k, v string) func(*httputil.ProxyRequest) {
		return func(pr *httputil.ProxyRequest) { pr.Out.Header.Set(k, v) }
	}
	for _, c := range []struct {
		name    string
		backend string
		rewrite func(*httputil.ProxyRequest)
		want    string // X-Tracing-Refused, "" when traced
	}{
		{"X-Forwarded-For", local.URL, func(pr *httputil.ProxyRequest) { pr.SetXForwarded() }, middleware.RefusedUnauthorized},
		{"Via", local.URL, header("Via", "1.1 edge"), middleware.RefusedUnauthorized},
		{"True-Client-IP", local.URL, header("True-Client-IP", "203.0.113.7"), middleware.RefusedUnauthorized},
		{"CF-Connecting-IP", local.URL, header("CF-Connecting-IP", "203.0.113.7"), middleware.RefusedUnauthorized},
		{"X-Client-IP", local.URL, header("X-Client-IP", "203.0.113.7"), middleware.RefusedUnauthorized},
		{"X-Cluster-Client-IP", local.URL, header("X-Cluster-Client-IP", "203.0.113.7"), middleware.RefusedUnauthorized},
		{"X-Original-Forwarded-For", local.URL, header("X-Original-Forwarded-For", "203.0.113.7"), middleware.RefusedUnauthorized},
		// The limit: no header, Host rewritten to the backend's loopback
		// address. The local rule admits it; a token-only policy does not.
		{"no header (the limit)", local.URL, func(*httputil.ProxyRequest) {}, ""},
		{"no header, token policy", tokenOnly.URL, func(*httputil.ProxyRequest) {}, middleware.RefusedUnauthorized},
	} {
		p := proxy(c.backend, c.rewrite)
		resp, body := do(t, "GET", p.URL+"/items/9?tracing=1")
		p.Close()
		if body != "item 9" {
			t.Errorf("%s: body %q", c.name, body)
		}
		if got := resp.Header.Get(middleware.RefusedHeader); got != c.want {
			t.Errorf("%s: %s %q, want %q", c.name, middleware.RefusedHeader, got, c.want)
		}
		if traced := rec.last().opted; traced != (c.want == "") {
			t.Errorf("%s: traced %v", c.name, traced)
		}
	}
}
