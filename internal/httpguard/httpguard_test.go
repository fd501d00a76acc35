package httpguard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLocalUnit covers the local rule's parts on synthetic requests; the
// real-server tests are in server_test.go.
func TestLocalUnit(t *testing.T) {
	for _, c := range []struct {
		addr, host, header string
		want               bool
	}{
		{"127.0.0.1:1234", "127.0.0.1:8080", "", true},
		{"[::1]:1234", "[::1]:8080", "", true},
		{"[::ffff:127.0.0.1]:1234", "localhost:8080", "", true},
		{"127.0.0.1:1234", "localhost", "", true},
		{"127.0.0.1:1234", "LOCALHOST.:1", "", true},
		{"127.0.0.1:1234", "127.9.9.9", "", true},
		{"127.0.0.1:1234", "example.com", "", false},
		{"127.0.0.1:1234", "attacker.test:8080", "", false},
		{"127.0.0.1:1234", "localhost.attacker.test", "", false},
		{"127.0.0.1:1234", "0.0.0.0:8080", "", false},
		{"127.0.0.1:1234", "", "", false},
		{"127.0.0.1:1234", "127.0.0.1:8080", "X-Forwarded-For", false},
		{"127.0.0.1:1234", "127.0.0.1:8080", "Via", false},
		{"127.0.0.1:1234", "127.0.0.1:8080", "X-Forwarded-Port", false},
		{"127.0.0.1:1234", "127.0.0.1:8080", "Cf-Ray", false},
		{"10.0.0.1:1234", "127.0.0.1", "", false},
		{"garbage", "127.0.0.1", "", false},
		{"", "127.0.0.1", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = c.addr, c.host
		if c.header != "" {
			r.Header.Set(c.header, "203.0.113.9")
		}
		err := CheckLocal(r)
		if got := err == nil; got != c.want {
			t.Errorf("CheckLocal(%q, Host %q, %q) = %v, want admitted %v", c.addr, c.host, c.header, err, c.want)
		}
		if err != nil && err.(*Refusal).Status != http.StatusForbidden {
			t.Errorf("refusal status %d, want 403", err.(*Refusal).Status)
		}
		if c.header != "" && ProxyHeader(r) != http.CanonicalHeaderKey(c.header) {
			t.Errorf("ProxyHeader = %q, want %q", ProxyHeader(r), c.header)
		}
	}
}

func TestLocalHostNames(t *testing.T) {
	var p Policy
	if err := p.AddLocalHosts("DevBox.", "devbox.internal"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"devbox:8080", "", "*.example.com", "a/b", "::1", "http://x"} {
		if err := p.AddLocalHosts(bad); err == nil {
			t.Errorf("AddLocalHosts(%q) accepted", bad)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	for host, want := range map[string]bool{"devbox:9000": true, "DEVBOX": true, "devbox.internal.": true, "evil-devbox": false, "devbox.evil": false} {
		r.Host = host
		if got := p.Check(r) == nil; got != want {
			t.Errorf("Host %q admitted = %v, want %v", host, got, want)
		}
	}
}

func TestNonCanonicalProxyHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["x-real-ip"] = []string{"203.0.113.9"} // not canonicalised
	r.Header["X-Envoy-Attempt-Count"] = []string{"1"}
	r.Header["Cf-Ipcountry"] = []string{"FR"}
	if got := ProxyHeader(r); got != "X-Real-Ip" {
		t.Errorf("ProxyHeader = %q, want the listed X-Real-Ip before the prefixed ones", got)
	}
	delete(r.Header, "x-real-ip")
	if got := ProxyHeader(r); got != "Cf-Ipcountry" {
		t.Errorf("ProxyHeader = %q, want the alphabetically first, Cf-Ipcountry", got)
	}
}

func TestPolicyRules(t *testing.T) {
	local := func(r *http.Request) *http.Request {
		r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1:8080"
		return r
	}
	remote := func(r *http.Request) *http.Request {
		r.RemoteAddr, r.Host = "203.0.113.9:1", "ops.example.com"
		return r
	}
	withToken := func(tok string) func(*http.Request) *http.Request {
		return func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		}
	}
	var def, tok, both, fn Policy
	if err := tok.AllowBearer("s3cret"); err != nil {
		t.Fatal(err)
	}
	tok.AllowBearer("next")
	both.AllowBearer("s3cret")
	both.AllowLocal()
	fn.AllowFunc(func(r *http.Request) bool { return r.Header.Get("X-Ok") == "yes" })
	if err := def.AllowBearer(""); err == nil || !def.Default() {
		t.Fatal("empty token accepted")
	}
	for _, c := range []struct {
		name   string
		p      *Policy
		build  []func(*http.Request) *http.Request
		status int // 0: admitted
	}{
		{"default local", &def, nil, 0},
		{"default remote", &def, []func(*http.Request) *http.Request{remote}, 403},
		{"token replaces local", &tok, nil, 401},
		{"token remote", &tok, []func(*http.Request) *http.Request{remote, withToken("s3cret")}, 0},
		{"second token", &tok, []func(*http.Request) *http.Request{remote, withToken("next")}, 0},
		{"wrong token", &tok, []func(*http.Request) *http.Request{remote, withToken("s3cre")}, 401},
		{"both local", &both, nil, 0},
		{"both remote token", &both, []func(*http.Request) *http.Request{remote, withToken("s3cret")}, 0},
		{"both remote none", &both, []func(*http.Request) *http.Request{remote}, 401},
		{"func refuses local", &fn, nil, 403},
		{"func admits", &fn, []func(*http.Request) *http.Request{remote, func(r *http.Request) *http.Request { r.Header.Set("X-Ok", "yes"); return r }}, 0},
	} {
		r := local(httptest.NewRequest("GET", "/", nil))
		for _, b := range c.build {
			r = b(r)
		}
		err := c.p.Check(r)
		got := 0
		if err != nil {
			got = err.(*Refusal).Status
		}
		if got != c.status {
			t.Errorf("%s: Check = %v (status %d), want status %d", c.name, err, got, c.status)
		}
	}
}

func TestCrossSiteUnit(t *testing.T) {
	var trusting Origins
	if err := trusting.Trust("HTTPS://Ops.Example.com:443"); err != nil {
		t.Fatal(err)
	}
	if err := trusting.Trust("null"); err == nil {
		t.Error("trusting null accepted")
	}
	for _, c := range []struct {
		site, origin, host string
		method             string
		want, wantTrusting bool // passes
	}{
		{"", "", "127.0.0.1:8080", "GET", true, true},
		{"none", "", "127.0.0.1:8080", "GET", true, true},
		{"same-origin", "http://127.0.0.1:8080", "127.0.0.1:8080", "POST", true, true},
		{"cross-site", "", "127.0.0.1:8080", "GET", false, false},
		{"same-site", "", "127.0.0.1:8080", "GET", false, false},
		{"cross-site", "https://ops.example.com", "127.0.0.1:8080", "GET", false, true},
		{"bogus", "", "127.0.0.1:8080", "GET", false, false},
		{"", "http://127.0.0.1:9999", "127.0.0.1:8080", "GET", false, false},
		{"", "http://localhost:8080", "127.0.0.1:8080", "POST", false, false},
		{"", "null", "127.0.0.1:8080", "POST", false, false},
		{"", "http://LOCALHOST:80", "localhost", "POST", true, true},
		{"", "https://x.test", "x.test:443", "POST", true, true},
		{"", "http://[::1]:8080", "[::1]:8080", "HEAD", true, true},
		{"", "http://127.0.0.1:8080/path", "127.0.0.1:8080", "POST", false, false},
		{"", "http://user@127.0.0.1:8080", "127.0.0.1:8080", "POST", false, false},
	} {
		r := httptest.NewRequest(c.method, "/", nil)
		r.Host = c.host
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := CrossSite(r) == nil; got != c.want {
			t.Errorf("CrossSite(site %q, origin %q, host %q) passes = %v, want %v", c.site, c.origin, c.host, got, c.want)
		}
		if got := trusting.Check(r) == nil; got != c.wantTrusting {
			t.Errorf("trusting Check(site %q, origin %q, host %q) passes = %v, want %v", c.site, c.origin, c.host, got, c.wantTrusting)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Origin", "http://example.com")
	r.Header.Add("Origin", "http://example.com")
	if CrossSite(r) == nil {
		t.Error("two Origin headers passed")
	}
}

func TestBearer(t *testing.T) {
	for _, c := range []struct {
		header         string
		present, valid bool
	}{
		{"", false, false},
		{"Basic abc", false, false},
		{"Bearer s3cret", true, true},
		{"bearer  s3cret ", true, true},
		{"Bearer s3cre", true, false},
		{"Bearer", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		p, v := Bearer(r, []byte("s3cret"))
		if p != c.present || v != c.valid {
			t.Errorf("Bearer(%q) = %v, %v; want %v, %v", c.header, p, v, c.present, c.valid)
		}
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBucket(2, 3, func() time.Time { return now })
	for i := range 3 {
		if !b.Take() {
			t.Fatalf("token %d of a full bucket refused", i)
		}
	}
	if b.Take() {
		t.Fatal("empty bucket gave a token")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if !b.Take() || b.Take() {
		t.Fatal("refill of one token not honoured exactly")
	}
	now = now.Add(time.Hour) // capped at burst
	if b.TakeN(4) {
		t.Fatal("TakeN over burst succeeded")
	}
	if !b.TakeN(2) || b.TakeN(2) || !b.TakeN(1) || b.Take() {
		t.Fatal("TakeN is not all or nothing")
	}
	now = now.Add(-time.Minute) // a clock going back adds nothing
	if b.Take() {
		t.Fatal("a clock going back added a token")
	}
	if b.Burst() != 3 || !b.TakeN(0) {
		t.Fatal("Burst or TakeN(0)")
	}
}

// BenchmarkCheck measures the default policy's check of a local request
// with a browser's usual headers, the cost opt-in tracing pays per
// request that asks.
func BenchmarkCheck(b *testing.B) {
	var p Policy
	r := httptest.NewRequest("GET", "/?tracing=1", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:51000", "localhost:8080"
	for _, h := range []string{"Accept", "Accept-Encoding", "Accept-Language", "User-Agent", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Cookie", "Referer", "Traceparent"} {
		r.Header.Set(h, "x")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	b.ReportAllocs()
	for b.Loop() {
		if p.Check(r) != nil {
			b.Fatal("refused")
		}
	}
}
