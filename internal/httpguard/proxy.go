package httpguard

import "net/http"

// proxyHeaders are request headers that reverse proxies, load balancers,
// CDNs and service meshes add. A request that carries one came through a
// proxy, so its loopback address says nothing about the client. The list
// is checked in this order; see also proxyPrefixes.
var proxyHeaders = []string{
	"Forwarded",                 // RFC 7239
	"X-Forwarded-For",           // de facto standard (nginx, HAProxy, ALB, ...)
	"X-Forwarded-Host",          //
	"X-Forwarded-Proto",         //
	"X-Real-Ip",                 // nginx's realip convention
	"Via",                       // RFC 9110 section 7.6.3 (Apache, Squid, Varnish, CloudFront, Google)
	"X-Client-Ip",               // Apache, some load balancers
	"Client-Ip",                 //
	"True-Client-Ip",            // Akamai, Cloudflare Enterprise
	"Cf-Connecting-Ip",          // Cloudflare
	"Cf-Connecting-Ipv6",        //
	"Cdn-Loop",                  // RFC 8586 (Cloudflare, Fastly, Akamai)
	"X-Cluster-Client-Ip",       // Rackspace, Riverbed
	"X-Original-Forwarded-For",  // ingress-nginx behind another proxy
	"X-Original-Host",           // IIS ARR, Azure
	"X-Original-Url",            // IIS ARR
	"X-Original-Uri",            // nginx auth_request
	"X-Rewrite-Url",             //
	"Fastly-Client-Ip",          // Fastly
	"X-Azure-Clientip",          // Azure Front Door
	"X-Azure-Socketip",          //
	"X-Appengine-User-Ip",       // Google App Engine
	"X-Proxyuser-Ip",            // Google services
	"X-Bluecoat-Via",            // Blue Coat
	"X-Originating-Ip",          // Microsoft
	"Akamai-Origin-Hop",         // Akamai
	"Cloudfront-Viewer-Address", // Amazon CloudFront
	"Fly-Client-Ip",             // Fly.io
	"X-Vercel-Forwarded-For",    // Vercel
	"X-Nf-Client-Connection-Ip", // Netlify
	"X-Forwarded",               // non-standard spellings seen in the wild
	"Forwarded-For",             //
}

// proxyPrefixes are header name prefixes that only proxies use: every
// X-Forwarded-* (Port, Server, Prefix, Ssl, Scheme, Uri, Client-Cert, ...),
// Cloudflare's Cf-*, Envoy's (and so Istio's) X-Envoy-*, CloudFront's,
// Fastly's, Azure's, App Engine's and Fly.io's.
var proxyPrefixes = []string{
	"X-Forwarded-", "Cf-", "X-Envoy-", "Cloudfront-", "Fastly-", "X-Azure-", "X-Appengine-", "Fly-",
}

// ProxyHeaders returns the names of the headers that mark a request as
// forwarded by a proxy, in the order [ProxyHeader] checks them, followed
// by the prefixes it checks (ending in "-"). The caller owns the slice.
func ProxyHeaders() []string {
	return append(append([]string(nil), proxyHeaders...), proxyPrefixes...)
}

// ProxyHeader returns the name of a header in r that proxies add (see
// [ProxyHeaders]: Forwarded, X-Forwarded-*, X-Real-Ip, Via, X-Client-Ip,
// True-Client-Ip, Cf-Connecting-Ip, X-Cluster-Client-Ip,
// X-Original-Forwarded-For and more), or "" if it carries none. The listed
// names are checked first, in order; among headers that only match a
// prefix, the alphabetically first is returned, so the answer does not
// depend on map order. Header names are compared case-insensitively.
func ProxyHeader(r *http.Request) string {
	found, rank := "", len(proxyHeaders)+1
	for name := range r.Header {
		c := http.CanonicalHeaderKey(name) // no allocation when it is canonical already
		n, listed := proxyRank[c]
		switch {
		case listed:
		case hasProxyPrefix(c):
			n = len(proxyHeaders)
		default:
			continue
		}
		if n < rank || n == rank && c < found {
			found, rank = c, n
		}
	}
	return found
}

// proxyRank is each listed header's place in proxyHeaders.
var proxyRank = func() map[string]int {
	m := make(map[string]int, len(proxyHeaders))
	for i, h := range proxyHeaders {
		m[h] = i
	}
	return m
}()

// hasProxyPrefix reports whether the canonical header name starts with
// one of proxyPrefixes.
func hasProxyPrefix(name string) bool {
	for _, p := range proxyPrefixes {
		if len(name) > len(p) && name[:len(p)] == p {
			return true
		}
	}
	return false
}

// ForwardingHeader is the former name of [ProxyHeader]; it checks the
// same, full list.
//
// Deprecated: use [ProxyHeader].
func ForwardingHeader(r *http.Request) string { return ProxyHeader(r) }
