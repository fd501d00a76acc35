package admin_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

func owners(f *dflag.Flag) []string {
	var out []string
	for _, o := range f.State().Owners {
		out = append(out, o.Name+" "+strings.Join(o.Terms, " "))
	}
	return out
}

// TestHeldChanges: the console's changes are the operator's hold,
// console:<who>, shown as the flag's owner; activate and deactivate undo
// the operator's own opposite change; release gives everything back.
func TestHeldChanges(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	resp := post(t, h, form("op", "activate", "pattern", "admin_test:alpha"))
	if resp.Owner != "console:127.0.0.1" || !reflect.DeepEqual(resp.Held, []string{"+admin_test:alpha"}) || resp.Matched != 1 {
		t.Errorf("activate: %+v", resp)
	}
	if st := alpha.State(); !st.On || st.Activation != 0 || !reflect.DeepEqual(owners(alpha), []string{"console:127.0.0.1 +admin_test:alpha"}) {
		t.Errorf("held activation: %+v", st)
	}
	// The listing shows the owner.
	r := request("GET", "/flags?pattern=admin_test:alpha", "")
	r.Header.Set("Accept", "application/json")
	if w := serve(h, r); !strings.Contains(w.Body.String(), `"owners":[{"name":"console:127.0.0.1","terms":["+admin_test:alpha"]}]`) {
		t.Errorf("listing: %s", w.Body)
	}
	resp = post(t, h, form("op", "deactivate", "pattern", "admin_test:alpha"))
	if resp.Held != nil || alpha.On() || owners(alpha) != nil {
		t.Errorf("deactivate undoes activate: %+v, %v", resp, alpha.State())
	}

	// Tripping a Default flag forces it off; activating gives it back.
	post(t, h, form("op", "deactivate", "name", beta.Name()))
	if st := beta.State(); st.On || st.Activation != 1 {
		t.Errorf("tripped Default: %+v", st)
	}
	post(t, h, form("op", "activate", "name", beta.Name()))
	if !beta.On() || owners(beta) != nil {
		t.Errorf("untripped Default: %+v", beta.State())
	}

	// Unhook then rehook: the operator's own "!" goes away.
	post(t, h, form("spec", "!admin_test: +admin_test:alpha"))
	if alpha.On() {
		t.Errorf("held activation under a held unhook: %+v", alpha.State())
	}
	post(t, h, form("op", "rehook", "pattern", "admin_test:"))
	if !alpha.On() {
		t.Errorf("after rehook: %+v", alpha.State())
	}
	// A rehook with no unhook of the operator's own rehooks the counts.
	dflag.Unhook("admin_test:alpha")
	post(t, h, form("op", "rehook", "pattern", "admin_test:alpha"))
	if alpha.State().Unhook != 0 {
		t.Errorf("count rehook: %+v", alpha.State())
	}

	// Another operator is another owner.
	r = request("POST", "/flags", form("op", "activate", "pattern", "admin_test:alpha"))
	r.RemoteAddr = "127.0.0.2:5000"
	serve(h, r)
	if got := owners(alpha); len(got) != 2 || !strings.HasPrefix(got[1], "console:127.0.0.2 ") {
		t.Errorf("two operators: %q", got)
	}

	// Release gives back exactly what the operator held.
	resp = post(t, h, form("op", "release"))
	if resp.Matched != 1 || resp.Results[0].Op != "release" || !alpha.On() {
		t.Errorf("release: %+v, %v", resp, alpha.State())
	}
	if resp := post(t, h, form("op", "release")); len(resp.Warnings) != 1 {
		t.Errorf("second release: %+v", resp)
	}
	if w := serve(h, request("POST", "/flags", form("op", "release", "pattern", "x"))); w.Code != 400 {
		t.Errorf("release with a pattern: %d", w.Code)
	}
	admin.ReleaseHolds()
	if alpha.On() {
		t.Errorf("after every release: %+v", alpha.State())
	}
}

// TestOperatorName: WithOperator names the hold.
func TestOperatorName(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, admin.WithOperator(func(r *http.Request) string { return r.Header.Get("X-User") }))
	r := request("POST", "/flags", form("op", "unhook", "pattern", "admin_other:"))
	r.Header.Set("X-User", "alice\n")
	if w := serve(h, r); w.Code != 200 || !strings.Contains(w.Body.String(), `"owner":"console:alice"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if got := owners(gamma); !reflect.DeepEqual(got, []string{"console:alice !admin_other:"}) {
		t.Errorf("owners %q", got)
	}
}

// TestHoldBound: an operator's hold keeps at most MaxHoldTerms terms; the
// change that would exceed it is refused whole.
func TestHoldBound(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, admin.WithRateLimit(0, 0))
	n := 0
	for n+32 <= admin.MaxHoldTerms {
		var spec []string
		for range 32 {
			spec = append(spec, fmt.Sprintf("+admin_test:none%d", n))
			n++
		}
		post(t, h, form("spec", strings.Join(spec, " ")))
	}
	before := snapshot(t)
	var spec []string
	for i := range admin.MaxHoldTerms - n + 1 {
		spec = append(spec, fmt.Sprintf("+admin_test:more%d", i))
	}
	spec = append(spec, "+admin_test:alpha")
	w := serve(h, request("POST", "/flags", form("spec", strings.Join(spec, " "))))
	if w.Code != 413 || !strings.Contains(w.Body.String(), "op=release") {
		t.Errorf("over the bound: %d %s", w.Code, w.Body)
	}
	sameState(t, before)
}
