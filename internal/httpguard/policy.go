package httpguard

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// Refusal is why a request is not served: the status to answer with (401
// when a bearer token would admit it, 403 otherwise) and a reason for the
// response body and the log. It is the error type of [Policy.Check],
// [CheckLocal] and [Origins.Check].
type Refusal struct {
	Status int
	Reason string
}

func (e *Refusal) Error() string { return e.Reason }

// Challenge sets the WWW-Authenticate header a 401 answer must carry
// (RFC 6750), with realm; it does nothing for other statuses.
func (e *Refusal) Challenge(w http.ResponseWriter, realm string) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	}
}

// Policy says who may use a surface that switches code or shows what it
// records (the operator console, /debug/traces, opt-in tracing), in one
// vocabulary shared by all three. A request is admitted when any of the
// policy's rules admits it:
//
//   - [Policy.AllowLocal]: the local rule ([CheckLocal]) with the names
//     given by [Policy.AddLocalHosts];
//   - [Policy.AllowBearer]: an "Authorization: Bearer <token>" header with
//     one of the tokens;
//   - [Policy.AllowFunc]: a function of the program's.
//
// A policy without rules (the zero value) admits what the local rule
// admits: that is the default everywhere, and adding any rule replaces it
// (add AllowLocal too to keep it). [Policy.Check] then applies the
// cross-site check ([Origins.Check]) to admitted requests, whatever rule
// admitted them.
//
// Configure a Policy before serving; afterwards it is safe for concurrent
// use by Check.
type Policy struct {
	local   bool
	names   []string
	tokens  [][]byte
	funcs   []func(*http.Request) bool
	origins Origins
}

// AllowLocal adds the local rule.
func (p *Policy) AllowLocal() { p.local = true }

// AddLocalHosts adds host names (without ports) that the local rule
// accepts in the Host header besides loopback literals and localhost, for
// a machine reached by its own name. It does not add a rule: the local
// rule applies by default or with AllowLocal. A malformed name is an error
// and adds nothing.
func (p *Policy) AddLocalHosts(names ...string) error {
	norm := make([]string, 0, len(names))
	for _, n := range names {
		h, err := NormalizeHost(n)
		if err != nil {
			return err
		}
		norm = append(norm, h)
	}
	p.names = append(p.names, norm...)
	return nil
}

// AllowBearer adds a rule that admits requests carrying "Authorization:
// Bearer <token>", from any address; several tokens may be added (to
// rotate one). The comparison takes constant time. An empty token is an
// error.
func (p *Policy) AllowBearer(token string) error {
	if token == "" {
		return errors.New("empty bearer token")
	}
	p.tokens = append(p.tokens, []byte(token))
	return nil
}

// AllowFunc adds a rule that admits the requests for which allow returns
// true.
func (p *Policy) AllowFunc(allow func(*http.Request) bool) {
	if allow != nil {
		p.funcs = append(p.funcs, allow)
	}
}

// TrustOrigin makes the cross-site check accept requests from origin; see
// [Origins.Trust].
func (p *Policy) TrustOrigin(origin string) error { return p.origins.Trust(origin) }

// Default reports whether the policy has no rule of its own and so
// applies the local rule.
func (p *Policy) Default() bool { return !p.local && len(p.tokens) == 0 && len(p.funcs) == 0 }

// Authorize returns nil if a rule admits r, or the *[Refusal] that
// explains why none did: 401 with the bearer token's problem if a token
// would have admitted it, 403 with the local rule's reason otherwise.
func (p *Policy) Authorize(r *http.Request) error {
	var localErr error
	if p.local || p.Default() {
		if localErr = CheckLocal(r, p.names...); localErr == nil {
			return nil
		}
	}
	present := false
	if len(p.tokens) > 0 {
		var got []byte
		got, present = bearer(r)
		if present {
			ok := 0
			for _, want := range p.tokens {
				ok |= subtle.ConstantTimeCompare(got, want)
			}
			if ok == 1 {
				return nil
			}
		}
	}
	for _, f := range p.funcs {
		if f(r) {
			return nil
		}
	}
	switch {
	case len(p.tokens) > 0 && present:
		return &Refusal{Status: http.StatusUnauthorized, Reason: "invalid bearer token"}
	case len(p.tokens) > 0:
		return &Refusal{Status: http.StatusUnauthorized, Reason: "missing bearer token"}
	case localErr != nil:
		return localErr
	}
	return &Refusal{Status: http.StatusForbidden, Reason: "not authorised by the configured rule"}
}

// Check returns nil if r may be served: [Policy.Authorize] admits it and
// the cross-site check ([Origins.Check], with the trusted origins) passes.
// Otherwise it returns a *[Refusal].
func (p *Policy) Check(r *http.Request) error {
	if err := p.Authorize(r); err != nil {
		return err
	}
	return p.origins.Check(r)
}

// bearer returns the token of r's "Authorization: Bearer <token>" header
// and whether it has one.
func bearer(r *http.Request) ([]byte, bool) {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	return []byte(strings.TrimSpace(got)), true
}

// Bearer checks r's "Authorization: Bearer <token>" header against want in
// constant time. present reports whether r carries a bearer token at all.
func Bearer(r *http.Request, want []byte) (present, valid bool) {
	got, present := bearer(r)
	return present, present && subtle.ConstantTimeCompare(got, want) == 1
}
