// Package admin is an operator console for dynamic flags: an [http.Handler]
// that lists flags and switches them by pattern, with a self-contained HTML
// page, meant to be mounted under a prefix as net/http/pprof is:
//
//	mux.Handle("/debug/dflag/", admin.Handler(admin.WithPrefix("/debug/dflag/")))
//
// The handler serves, relative to its prefix:
//
//	GET  /                the console: one HTML page, no external assets
//	GET  /flags?pattern=  the listing in the C library's text format, or JSON
//	                      ([]Flag) when the Accept header names application/json
//	GET  /history         {"changes": [Change...]}: the recent changes, newest first
//	GET  /status          {"status": {name: value}, "errors": {name: "..."}}: the
//	                      values of the WithStatus functions ([Statuses])
//	POST /flags           op=activate|deactivate|unhook|rehook and one of
//	                      pattern=re           every flag the pattern matches
//	                      name=kind:name@file:line   exactly that record (404 if none)
//	                      or spec=terms (as in DFLAG: "+re -re !re ?re"),
//	                      or op=release: give back the operator's changes;
//	                      dry_run=1 counts what would match and changes nothing;
//	                      the answer is a JSON [Response]
//
// The JSON shapes, with the Go types that encode them:
//
//	[Flag]      {"name":"kind:name@file:line","kind":"...","flag":"...","doc":"...",
//	             "file":"import/path/file.go","line":12,"mode":"feature|default|opt",
//	             "on":true,"activation":1,"unhook":0,"site":"hook|call","addr":"0x...",
//	             "owners":[{"name":"console:127.0.0.1","terms":["+kind:"]},
//	                       {"name":"env:DFLAG","terms":["-kind:name"],"once":true}]}
//	[Response]  {"dry_run":true,"owner":"console:127.0.0.1","held":["+re"],"matched":3,
//	             "results":[{"op":"activate","pattern":"re","matched":3}],
//	             "warnings":["deactivate \"breakr:\" matched no flag"]}
//	[Change]    {"time":"2026-12-01T09:00:00Z","who":"console:127.0.0.1 (127.0.0.1:51000)","results":[...],
//	             "matched":3,"warnings":[...]}
//	[Statuses]  {"status":{"fleet":{"connected":false,"age_seconds":12.5,"keys":2}},
//	             "errors":{"probe":"status \"probe\": panic: ..."}}
//	errors      {"error":"what went wrong and what to do"}
//
// # The page
//
// The page groups flags by kind, explains its columns in a legend, shows
// the recent changes and the statuses, and refreshes itself every 3
// seconds (polling, two listings each time, three with a [WithStatus];
// paused while the tab is hidden). Its row buttons
// switch exactly their record (name=); the bulk buttons and the terms field
// first make a dry run and ask for confirmation, with the counts, when an
// operation matches more than one flag or every flag. Warnings are shown
// as a notice. The page runs under a strict Content-Security-Policy (its
// own inline script and style only, by hash) and cannot be framed.
//
// # Status
//
// [WithStatus] adds a named status to the console, a function whose value
// GET /status serves and the page shows in a compact panel above the
// controls, refreshed with the listing: for example a fleet bridge's
// connection, the age of its last sync, its last error and its number of
// keys (bounded.dev/fleet), so that an operator sees at a glance whether
// the remote holds in the table may be stale. A flat JSON object is shown
// as its keys and values (booleans as yes/no, a non-empty "...error" value
// in red); any other value as its JSON. A status function that panics,
// does not answer within [StatusTimeout] or returns what does not encode
// is shown, served and logged as that status's error; the listing and the
// other statuses are unaffected.
//
// # Who holds what
//
// Each operator's changes are kept in a hold of their own (dflag.NewHold),
// owned by "console:<who>" (the client's IP address, "bearer" for a client
// that sent a bearer token, or what [WithOperator] says), shared by every
// console in the process. The listing shows each flag's owners with their
// terms, next to the others (kind:request_tracing for traced requests and
// phases, env:DFLAG for start-up terms, remote keys). In the operator's
// hold, activate adds "+re" unless it undoes the operator's own "-re",
// deactivate adds "-re" (which forces the flag off, beating every
// activation: that is how a Default circuit breaker is tripped) unless it
// undoes the operator's own "+re", unhook adds "!re", and rehook removes the
// operator's own "!re" or, if there is none, rehooks the C library's counts
// (an unhook from DFLAG, say). op=release gives back exactly what the hold
// changed. A hold keeps at most [MaxHoldTerms] terms. [WithCounts] uses the
// C library's counts instead (dflag.Activate and the rest), as before
// holds existed.
//
// A GET never changes state. A malformed request (invalid pattern, unknown
// op, malformed term, body over the limit) is refused with a message and
// changes nothing; a spec is validated whole before any of its terms is
// applied. An operation that matches no flag is not an error (as in the C
// library) but is never silent: the [Response] lists it in "warnings", the
// page shows it, and the log line is a warning.
//
// # Status codes
//
//	200  served; for a POST, every term applied
//	400  malformed request: bad pattern, unknown op or field, malformed term
//	401  a bearer token is configured and the request has none or a wrong one
//	     (with WWW-Authenticate: Bearer)
//	403  not a local client (not loopback, a Host that is not loopback or
//	     localhost, a proxy header), or a cross-site request
//	404  no such path, or name= names no record; 405 wrong method (with Allow)
//	409  the operator's hold cannot be made (its owner name is taken by
//	     another hold of the program's)
//	413  body over WithMaxBodyBytes, a spec of more than WithMaxTerms terms,
//	     or an operator's hold over MaxHoldTerms terms
//	415  a POST body that is not application/x-www-form-urlencoded
//	429  over a rate limit (with Retry-After): changes are charged per term,
//	     listings per request
//
// Errors are JSON, {"error": "..."}, for a POST and for a client that
// accepts JSON, plain text otherwise.
//
// # Security
//
// By default only local clients are served: the peer is a loopback
// address, the Host header is a loopback address, localhost or a name
// given to [WithLocalHosts] (so that a DNS-rebinding page, whose name now
// resolves to 127.0.0.1, is refused), and the request carries no header a
// proxy adds (Forwarded, X-Forwarded-*, X-Real-Ip, Via, True-Client-Ip,
// Cf-Connecting-Ip, ...). The rule cannot see a proxy on the same machine
// that rewrites Host and adds no header: behind any proxy, configure
// [WithBearerToken]. [WithBearerToken] and [WithAuthorize] replace the
// default rule, [WithLocal] keeps it next to them: a request that any rule
// admits is served. Opt-in tracing (bounded.dev/middleware) and the trace
// page (tracing/tracestore) take the same options with the same meaning.
//
// Requests a browser marks as cross-site (Sec-Fetch-Site cross-site or
// same-site, or an Origin that is not the console's own) are refused for
// every method, listings included: an <img> on another site can neither
// switch a flag nor make the console compile a costly pattern
// ([WithTrustedOrigin] admits a known origin). Only the page itself, which
// holds no data, may be opened from a link on another site. Changes and
// listings are rate limited ([WithRateLimit], [WithListRateLimit]), a
// request applies at most [WithMaxTerms] terms, and every change and every
// refusal is logged with log/slog ([WithLogger]), a change once per
// request with its number of terms.
package admin
