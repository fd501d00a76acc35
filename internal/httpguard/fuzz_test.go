package httpguard

import (
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalHost checks the Host rule against its definition: whatever the
// input, LocalHost admits only loopback literals, localhost and the
// configured name, and never panics.
func FuzzLocalHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "localhost", "LOCALHOST.:1", "[::1]:80", "[::1%lo]:80", "attacker.test",
		"localhost.attacker.test", "127.0.0.1.nip.io", "devbox:1", "[::ffff:127.0.0.1]", "127.0.0.1:", ":80", "[", "]",
		"127.0.0.1:65536", "0x7f.1", "127.1", "2130706433", "localhost:80:80", "local\x00host", "localhost@evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hostport string) {
		ok := LocalHost(hostport, "devbox")
		host, port, err := SplitHost(hostport)
		if err != nil {
			if ok {
				t.Fatalf("LocalHost(%q) admitted a host SplitHost refuses: %v", hostport, err)
			}
			return
		}
		if strings.ContainsAny(port, ":[]") || strings.HasSuffix(host, ".") || host != strings.ToLower(host) {
			t.Fatalf("SplitHost(%q) = %q, %q", hostport, host, port)
		}
		if !ok {
			return
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if !a.Unmap().IsLoopback() {
				t.Fatalf("LocalHost(%q) admitted non-loopback %v", hostport, a)
			}
		} else if host != "localhost" && host != "devbox" {
			t.Fatalf("LocalHost(%q) admitted %q", hostport, host)
		}
		// What the rule admits, net/url reads the same way.
		u, err := url.Parse("http://" + hostport + "/")
		if err != nil {
			t.Fatalf("LocalHost(%q) admitted what url.Parse refuses: %v", hostport, err)
		}
		if h := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."); h != host && !strings.HasPrefix(host, h+"%") {
			t.Fatalf("LocalHost(%q): host %q, url.Parse says %q", hostport, host, h)
		}
	})
}

// FuzzOrigin checks the cross-site check's Origin parsing: a parsed
// origin's canonical form parses to itself, and a request whose Origin is
// its own Host's passes while one with another host is refused.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080", "https://Ops.Example.com:443", "null", "http://[::1]:80", "http://x/",
		"http://user@x", "javascript://x", "http://", "://x", "HTTP://LOCALHOST", "http://x:0", "http://x:65536", "ws://x:80"} {
		f.Add(s, "127.0.0.1:8080")
	}
	f.Fuzz(func(t *testing.T, origin, host string) {
		canonical, hostport, err := ParseOrigin(origin)
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		passes := CrossSite(r) == nil
		if err != nil {
			if passes {
				t.Fatalf("Origin %q passed although malformed: %v", origin, err)
			}
			return
		}
		c2, h2, err := ParseOrigin(canonical)
		if err != nil || c2 != canonical || h2 != hostport {
			t.Fatalf("ParseOrigin(%q) = %q; reparsed: %q, %q, %v", origin, canonical, c2, h2, err)
		}
		if !strings.HasSuffix(canonical, "://"+hostport) {
			t.Fatalf("canonical %q does not end in %q", canonical, hostport)
		}
		r.Host = hostport
		if CrossSite(r) != nil {
			t.Fatalf("Origin %q refused with its own Host %q", origin, hostport)
		}
		if passes {
			// Only the request's own host passes: another one is refused.
			r.Host = "other.invalid"
			if CrossSite(r) == nil {
				t.Fatalf("Origin %q passed with Host other.invalid", origin)
			}
		}
	})
}
