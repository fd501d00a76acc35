package httpguard

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// guarded is a real server whose handler answers 200 "ok" when p.Check
// admits the request and the refusal's status otherwise.
func guarded(t *testing.T, p *Policy) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.Check(r); err != nil {
			ref := err.(*Refusal)
			ref.Challenge(w, "test")
			http.Error(w, ref.Reason, ref.Status)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// get sends a real request to url with the given Host and headers and
// returns the status and body.
func get(t *testing.T, method, target, host string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
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
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestRealServerHost pins DNS rebinding at the HTTP level: a request from
// loopback whose Host is not a loopback literal, localhost or a configured
// name is refused with 403 and a reason.
func TestRealServerHost(t *testing.T) {
	var p Policy
	if err := p.AddLocalHosts("devbox"); err != nil {
		t.Fatal(err)
	}
	srv := guarded(t, &p)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for host, want := range map[string]int{
		"":                        200, // the URL's own 127.0.0.1:port
		"localhost" + port:        200,
		"LocalHost":               200,
		"127.0.0.2" + port:        200,
		"[::1]" + port:            200,
		"devbox" + port:           200,
		"attacker.test" + port:    403,
		"attacker.test":           403,
		"localhost.attacker.test": 403,
		"127.0.0.1.nip.io" + port: 403,
		"devbox.attacker.test":    403,
		"0.0.0.0" + port:          403,
		"[::ffff:7f00:1]" + port:  200,
		"[fe80::1]" + port:        403,
		"127.0.0.1:99999":         403,
	} {
		code, body := get(t, "GET", srv.URL, host, nil)
		if code != want {
			t.Errorf("Host %q: %d %q, want %d", host, code, body, want)
		}
		if code == 403 && !strings.Contains(body, "DNS-rebinding") {
			t.Errorf("Host %q refused without saying why: %q", host, body)
		}
	}
}

// TestRealServerProxyHeaders sends each header a proxy adds, from
// loopback, to a real server: each is refused.
func TestRealServerProxyHeaders(t *testing.T) {
	var p Policy
	srv := guarded(t, &p)
	names := append(ProxyHeaders(), "X-Forwarded-Port", "X-Forwarded-Client-Cert", "Cf-Ray", "X-Envoy-Attempt-Count",
		"x-original-forwarded-for", "via")
	for _, name := range names {
		if strings.HasSuffix(name, "-") {
			continue // a prefix: tested through the names above
		}
		code, body := get(t, "GET", srv.URL, "", map[string]string{name: "203.0.113.9"})
		if code != 403 || !strings.Contains(body, "proxy") {
			t.Errorf("%s: %d %q, want 403 naming the proxy", name, code, body)
		}
	}
	for _, name := range []string{"Via", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "X-Cluster-Client-Ip", "X-Original-Forwarded-For"} {
		if !strings.Contains(strings.Join(names, ","), name) {
			t.Errorf("%s is not a proxy header", name)
		}
	}
	if code, _ := get(t, "GET", srv.URL, "", map[string]string{"X-Request-Id": "1", "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "User-Agent": "curl/8"}); code != 200 {
		t.Errorf("a local client's ordinary headers refused: %d", code)
	}
}

// TestRealServerReverseProxy puts httputil.ReverseProxy in front of a
// guarded server. Whatever the proxy is configured to send, a remote
// browser behind it is refused; only a non-browser client of a proxy that
// rewrites Host to the loopback address and adds no header is admitted,
// which is the documented limit that a bearer token closes.
func TestRealServerReverseProxy(t *testing.T) {
	var def, tok Policy
	if err := tok.AllowBearer("s3cret"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		policy  *Policy
		rewrite func(*httputil.ProxyRequest, *url.URL)
		header  map[string]string
		want    int
	}{
		{"SetURL+SetXForwarded", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u); r.SetXForwarded() }, nil, 403},
		{"SetURL keeping Host", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u); r.Out.Host = r.In.Host }, nil, 403},
		{"SetURL adding Via", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u); r.Out.Header.Set("Via", "1.1 edge") }, nil, 403},
		{"SetURL, browser GET fetch", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u) },
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"SetURL, browser same-origin POST", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u) },
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://ops.example.com"}, 403},
		{"SetURL, token policy", &tok, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u) }, nil, 401},
		{"SetURL, token given", &tok, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u) }, map[string]string{"Authorization": "Bearer s3cret"}, 200},
		// The limit: nothing in this request says it was proxied.
		{"SetURL, curl (the documented limit)", &def, func(r *httputil.ProxyRequest, u *url.URL) { r.SetURL(u) }, nil, 200},
	} {
		backend := guarded(t, c.policy)
		u, _ := url.Parse(backend.URL)
		rewrite := c.rewrite
		proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { rewrite(r, u) }})
		method := "GET"
		if strings.Contains(c.name, "POST") {
			method = "POST"
		}
		code, body := get(t, method, proxy.URL, "ops.example.com", c.header)
		proxy.Close()
		if code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, code, body, c.want)
		}
	}
}

// TestRealServerRemoteAddr connects from a non-loopback address of this
// machine, when it has one.
func TestRealServerRemoteAddr(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skip(err)
	}
	var p Policy
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.Check(r); err != nil {
			http.Error(w, err.Error(), err.(*Refusal).Status)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	code, body := get(t, "GET", srv.URL, "localhost", nil)
	if code != 403 || !strings.Contains(body, "not on a loopback address") {
		t.Errorf("client %s: %d %q, want 403", ip, code, body)
	}
}
