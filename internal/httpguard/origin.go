package httpguard

import (
	"fmt"
	"net/http"
	"strings"
)

// ParseOrigin parses the value of an Origin header, scheme://host[:port]
// with nothing after it, and returns it in canonical form (lower case, the
// scheme's default port dropped) with the host[:port] part the request's
// Host header must equal for the origin to be the request's own. "null"
// (an opaque origin: a sandboxed frame, a file: page, a redirect) and
// anything malformed are errors.
func ParseOrigin(origin string) (canonical, hostport string, err error) {
	if origin == "null" {
		return "", "", fmt.Errorf("opaque origin %q", origin)
	}
	scheme, rest, ok := strings.Cut(origin, "://")
	if !ok {
		return "", "", fmt.Errorf("origin %q: want scheme://host[:port]", origin)
	}
	scheme = strings.ToLower(scheme)
	if scheme == "" || strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != "" {
		return "", "", fmt.Errorf("origin %q: malformed scheme", origin)
	}
	host, port, err := SplitHost(rest)
	if err != nil {
		return "", "", fmt.Errorf("origin %q: %v", origin, err)
	}
	if port == defaultPort(scheme) {
		port = ""
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	hostport = host
	if port != "" {
		hostport += ":" + port
	}
	return scheme + "://" + hostport, hostport, nil
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return "-"
}

// sameHost reports whether the Host header hostport equals want, the
// host[:port] of an origin with scheme's default port dropped.
func sameHost(hostport, scheme, want string) bool {
	host, port, err := SplitHost(hostport)
	if err != nil {
		return false
	}
	if port == defaultPort(scheme) || port == "" {
		port = ""
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return host == want
}

// Origins is the cross-site check. Its zero value trusts no origin but
// the request's own; it is not safe to change concurrently with Check.
type Origins struct {
	trusted map[string]bool
}

// Trust makes Check accept requests from origin (for example
// "https://ops.example.com"), as a console embedded in another
// application's pages needs.
func (o *Origins) Trust(origin string) error {
	canonical, _, err := ParseOrigin(origin)
	if err != nil {
		return fmt.Errorf("trusted origin: %v", err)
	}
	if o.trusted == nil {
		o.trusted = map[string]bool{}
	}
	o.trusted[canonical] = true
	return nil
}

// Check returns nil unless a browser says r comes from another site, and
// then a *[Refusal] with status 403. It applies to every method: a GET can
// leak a listing or switch state through an <img> as well as a POST can.
//
//   - Sec-Fetch-Site "cross-site" or "same-site" (another port or
//     subdomain is another application) is refused, as is a value the
//     Fetch Metadata standard does not define; "same-origin" and "none"
//     (the user typed the address) pass on to the Origin check.
//   - An Origin header must be the request's own, that is its host and port
//     must equal Host's (the scheme cannot be compared: one host:port speaks
//     one scheme, and a proxy that terminates TLS changes it), or be
//     trusted. "null" is refused.
//   - A request with neither header is not from a modern browser's
//     cross-site context (curl, a program): it passes.
//
// Browsers send Sec-Fetch-Site only to potentially trustworthy origins
// (https, loopback); the Origin check covers the rest. A DNS-rebinding page
// is same-origin by the browser's rules, so this check cannot see it:
// that is the local rule's Host check ([LocalHost]).
func (o *Origins) Check(r *http.Request) error {
	origin, hasOrigin := "", false
	if v := r.Header.Values("Origin"); len(v) > 0 {
		if len(v) > 1 {
			return &Refusal{Status: http.StatusForbidden, Reason: "cross-site check: more than one Origin header"}
		}
		origin, hasOrigin = v[0], true
	}
	trusted := false
	canonical, hostport, perr := "", "", error(nil)
	if hasOrigin {
		canonical, hostport, perr = ParseOrigin(origin)
		trusted = perr == nil && o != nil && o.trusted[canonical]
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	case "cross-site", "same-site":
		if !trusted {
			return &Refusal{Status: http.StatusForbidden, Reason: "cross-site request refused (Sec-Fetch-Site: " + site +
				"): the console and debug pages only answer their own pages and clients that are not browsers"}
		}
	default:
		return &Refusal{Status: http.StatusForbidden, Reason: fmt.Sprintf("cross-site check: unknown Sec-Fetch-Site %q", site)}
	}
	if !hasOrigin || trusted {
		return nil
	}
	if perr != nil {
		return &Refusal{Status: http.StatusForbidden, Reason: "cross-site request refused: " + perr.Error()}
	}
	scheme, _, _ := strings.Cut(canonical, "://")
	if !sameHost(r.Host, scheme, hostport) {
		return &Refusal{Status: http.StatusForbidden, Reason: fmt.Sprintf("cross-site request refused: Origin %q is not this server's (Host %q)", origin, r.Host)}
	}
	return nil
}

// CrossSite applies the cross-site check with no trusted origin; see
// [Origins.Check].
func CrossSite(r *http.Request) error { return (*Origins)(nil).Check(r) }
