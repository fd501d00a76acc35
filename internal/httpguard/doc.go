// Package httpguard holds the request checks shared by the HTTP surfaces
// that switch code or show what it records: the operator console
// (dflag/admin), the trace page (tracing/tracestore) and opt-in tracing
// (middleware). Each surface keeps its own Option type but spells and means
// the same options, all backed by one [Policy]:
//
//	option                       Policy call               meaning
//	WithLocal()                  AllowLocal                admit local clients (the local rule)
//	WithLocalHosts(names...)     AddLocalHosts             Host names the local rule accepts too
//	WithBearerToken(token)       AllowBearer               admit "Authorization: Bearer <token>"
//	WithAuthorize(func(r) bool)  AllowFunc                 admit what the function admits
//	WithTrustedOrigin(origin)    TrustOrigin               accept that origin in the cross-site check
//
// A request is admitted when any of the rules admits it ("any of these
// admits"). With no rule configured, the local rule applies: that is the
// default on every surface. Configuring WithBearerToken or WithAuthorize
// replaces the default; add WithLocal to keep local clients admitted as
// well. WithLocalHosts and WithTrustedOrigin add no rule. Options that get
// a bad value (an empty token, a host name with a port, a malformed origin)
// make the surface's constructor panic with the error, as a programming
// error at start-up.
//
// A surface then serves a request like this:
//
//	if err := policy.Check(r); err != nil {
//		ref := err.(*httpguard.Refusal)
//		ref.Challenge(w, "dflag")     // WWW-Authenticate on 401
//		http.Error(w, ref.Reason, ref.Status) // and log ref.Reason
//		return
//	}
//
// # The local rule
//
// [CheckLocal] admits a request only if all three hold:
//
//   - its TCP peer (RemoteAddr) is a loopback address;
//   - its Host header is a loopback literal (127.0.0.0/8, [::1]),
//     "localhost" (any port) or a configured name: a DNS-rebinding page,
//     whose name now resolves to 127.0.0.1, sends its own name and is
//     refused even though its Origin equals its Host;
//   - it carries no header a proxy adds ([ProxyHeader]: Forwarded,
//     X-Forwarded-*, X-Real-Ip, Via, X-Client-Ip, True-Client-Ip,
//     Cf-Connecting-Ip, X-Cluster-Client-Ip, X-Original-Forwarded-For,
//     X-Envoy-*, ...): a reverse proxy on the same host does not make a
//     remote client local.
//
// What it cannot know: a proxy on the same machine that rewrites Host to
// the loopback address and adds no header at all (nginx's default
// proxy_pass, httputil.ReverseProxy with Rewrite and SetURL, a sidecar
// that strips its headers) makes every client of that proxy look local to
// a non-browser request. Behind any proxy, configure a bearer token. See
// docs/security.md.
//
// # The cross-site check
//
// [Origins.Check] (and [CrossSite]) refuses, for every method, requests a
// browser marks as coming from another site: Sec-Fetch-Site "cross-site"
// or "same-site", or an Origin header that is not the request's own
// host:port (or is "null"). [http.CrossOriginProtection] lets every GET
// through; this does not, because a listing is not a public resource and
// an <img> can send a costly one, and opt-in tracing switches code on a
// GET. [Policy.Check] applies it after authorisation.
//
// # Rate limits
//
// [Bucket] is a token bucket; [Bucket.TakeN] charges a request by its
// cost (the console charges a spec by its number of terms), all or
// nothing.
package httpguard
