package httpguard

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// LoopbackAddr reports whether r's RemoteAddr is a loopback address
// (127.0.0.0/8, ::1, or an IPv4-mapped loopback address).
func LoopbackAddr(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// SplitHost splits the value of a Host header (or the host of an Origin)
// into its host and port: "name", "name:port", "1.2.3.4:port" or
// "[v6]:port". The host comes back lower-case, without brackets and without
// a trailing dot; port is "" when there is none. It refuses what no
// browser sends: an empty host, an unbracketed IPv6 address, a port that is
// not a decimal number up to 65535, an IPv6 zone, and a name that is not
// dot-separated labels of letters, digits, '-' and '_' (internationalised
// names arrive in their xn-- form).
func SplitHost(hostport string) (host, port string, err error) {
	if hostport == "" {
		return "", "", errors.New("empty host")
	}
	for i := 0; i < len(hostport); i++ {
		if c := hostport[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' || c == '@' || c == '?' || c == '#' || c == '%' {
			return "", "", fmt.Errorf("host %q contains %q", hostport, c)
		}
	}
	rest := ""
	if hostport[0] == '[' {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", fmt.Errorf("host %q: missing ]", hostport)
		}
		host, rest = hostport[1:end], hostport[end+1:]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return "", "", fmt.Errorf("host %q: not an IPv6 address in brackets", hostport)
		}
	} else {
		i := strings.IndexByte(hostport, ':')
		if i < 0 {
			host = hostport
		} else {
			host, rest = hostport[:i], hostport[i:]
		}
	}
	if rest != "" {
		if rest[0] != ':' {
			return "", "", fmt.Errorf("host %q: unexpected %q after the address", hostport, rest)
		}
		port = rest[1:]
		if len(port) > 5 {
			return "", "", fmt.Errorf("host %q: port out of range", hostport)
		}
		n := 0
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", "", fmt.Errorf("host %q: port %q is not a number", hostport, port)
			}
			n = n*10 + int(port[i]-'0')
		}
		if n > 65535 {
			return "", "", fmt.Errorf("host %q: port out of range", hostport)
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if hostport[0] != '[' {
		if !validName(host) && !isIP(host) {
			return "", "", fmt.Errorf("host %q: not a host name (letters, digits, '-' and '_' in dot-separated labels)", hostport)
		}
	}
	return host, port, nil
}

// isIP reports whether host is an IP address literal; it does not
// allocate for a host name.
func isIP(host string) bool {
	if strings.IndexByte(host, ':') < 0 && strings.Trim(host, "0123456789.") != "" {
		return false // not IPv6, and not only digits and dots
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// validName reports whether host is a DNS name as browsers send it
// (internationalised names in their xn-- form): non-empty labels of
// lower-case letters, digits, '-' and '_'.
func validName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	label := 0 // length of the current label
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// LocalHost reports whether hostport, the value of a Host header, names
// this machine in a way that a DNS-rebinding attack cannot fake: a loopback
// address literal (127.0.0.0/8, [::1]), "localhost", or one of names (host
// names without ports, compared case-insensitively, as from
// [NormalizeHost]). Any port is accepted. A rebinding page's requests carry
// the attacker's host name, which is none of these.
func LocalHost(hostport string, names ...string) bool {
	host, _, err := SplitHost(hostport)
	if err != nil {
		return false
	}
	if isIP(host) {
		a, _ := netip.ParseAddr(host)
		return a.Unmap().IsLoopback()
	}
	if host == "localhost" {
		return true
	}
	for _, n := range names {
		if host == n {
			return true
		}
	}
	return false
}

// NormalizeHost checks a host name given by a program for the local rule
// ([Policy.AddLocalHosts]) and returns it in the form [LocalHost]
// compares: lower case, no trailing dot. A name with a port, a path, a
// scheme or a wildcard is an error.
func NormalizeHost(name string) (string, error) {
	host, port, err := SplitHost(name)
	if err != nil {
		return "", fmt.Errorf("local host name %q: %v", name, err)
	}
	if port != "" || strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
		return "", fmt.Errorf("local host name %q: give the name without a port (any port is accepted)", name)
	}
	if strings.ContainsAny(host, "*%") {
		return "", fmt.Errorf("local host name %q: wildcards are not supported; list each name", name)
	}
	return host, nil
}

// CheckLocal applies the local rule to r: it returns nil if r comes from a
// loopback address, names a local host in its Host header ([LocalHost],
// with the extra names given) and carries no proxy header
// ([ProxyHeader]); otherwise a *[Refusal] with status 403 that says which
// part failed and what to do.
//
// What the rule can know: the TCP peer's address and the request's
// headers. What it cannot know: who is behind a proxy on this machine that
// rewrites Host to a loopback address and adds no header (nginx's default
// proxy_pass, httputil.ReverseProxy with Rewrite and SetURL, a service
// mesh sidecar that strips its headers). Behind any proxy, configure a
// bearer token instead.
func CheckLocal(r *http.Request, names ...string) error {
	if name := ProxyHeader(r); name != "" {
		return &Refusal{Status: http.StatusForbidden, Reason: "request came through a proxy (" + name +
			" header): only direct loopback clients are local; configure a bearer token behind a proxy"}
	}
	if !LoopbackAddr(r) {
		return &Refusal{Status: http.StatusForbidden, Reason: "client " + r.RemoteAddr +
			" is not on a loopback address; configure a bearer token for remote clients"}
	}
	if !LocalHost(r.Host, names...) {
		return &Refusal{Status: http.StatusForbidden, Reason: fmt.Sprintf("Host %q is not a loopback address or localhost "+
			"(a DNS-rebinding page would send its own name); list the name as a local host or configure a bearer token", r.Host)}
	}
	return nil
}

// IsLocal reports whether [CheckLocal] admits r.
func IsLocal(r *http.Request, names ...string) bool { return CheckLocal(r, names...) == nil }

// Local reports whether r came from a loopback address and carries no
// proxy header. It does not check Host, so it admits a DNS-rebinding page.
//
// Deprecated: use [IsLocal] or a [Policy], which check Host too.
func Local(r *http.Request) bool {
	return ProxyHeader(r) == "" && LoopbackAddr(r)
}
