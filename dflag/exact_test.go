package dflag_test

import (
	"slices"
	"strings"
	"testing"

	"bounded.dev/dflag"
)

var (
	exactRecs   = dflag.Default("exact_breaker", "recs", "the recommendations breaker")
	exactRecs2  = dflag.Default("exact_breaker", "recs", "a second declaration of it")
	exactRecsV2 = dflag.Default("exact_breaker", "recs_v2", "a different breaker")
	exactDotted = dflag.Feature("exact_q", "a.b+c")
	exactLookal = dflag.Feature("exact_q", "axbbc")
)

// TestExactSelection pins issue 14 item 2 (the dflag part).
func TestExactSelection(t *testing.T) {
	// The trap: a pattern is a prefix.
	mustMatch(t, 3)(dflag.Deactivate("exact_breaker:recs"))
	mustMatch(t, 3)(dflag.Activate("exact_breaker:recs"))
	// kind:name@ selects the name exactly.
	p := dflag.NamePattern("exact_breaker", "recs")
	if p != "exact_breaker:recs@" {
		t.Errorf("NamePattern = %q", p)
	}
	mustMatch(t, 2)(dflag.Deactivate(p))
	if exactRecs.On() || exactRecs2.On() || !exactRecsV2.On() {
		t.Fatal("Deactivate(exact_breaker:recs@) did not select exactly the two recs declarations")
	}
	mustMatch(t, 2)(dflag.Activate(p))
	// One record from code.
	if err := exactRecs.Deactivate(); err != nil {
		t.Fatal(err)
	}
	if exactRecs.On() || !exactRecs2.On() || !exactRecsV2.On() {
		t.Fatal("Flag.Deactivate switched more than its record")
	}
	if err := exactRecs.Unhook(); err != nil {
		t.Fatal(err)
	}
	exactRecs.Activate() // ignored: unhooked
	if s := exactRecs.State(); s.On || s.Activation != 0 || s.Unhook != 1 {
		t.Fatalf("after Unhook and Activate: %+v", s)
	}
	exactRecs.Rehook()
	exactRecs.Activate()
	if !exactRecs.On() {
		t.Fatal("Flag.Activate after Rehook left the flag off")
	}
	// Quoting.
	mustMatch(t, 1)(dflag.Activate(dflag.NamePattern("exact_q", "a.b+c")))
	if !exactDotted.On() || exactLookal.On() {
		t.Fatal("NamePattern did not quote the name")
	}
	mustMatch(t, 1)(dflag.Deactivate(exactDotted.Pattern()))
	if states, _ := dflag.List(exactLookal.Pattern()); len(states) != 1 || states[0].Name != exactLookal.Name() {
		t.Errorf("List(Pattern()) = %v", states)
	}
}

// TestNoMatchIsVisible pins issue 14 item 1 (the dflag part) for code and
// the command line; TestInitAppliesEnvironment covers DFLAG.
func TestNoMatchIsVisible(t *testing.T) {
	logs := captureLog(t)
	matched, err := dflag.ApplyMatched("+exact_q:a", "-nomatch_zz:", "-exact_q:a")
	if err != nil || !slices.Equal(matched, []int{2, 0, 2}) {
		t.Errorf("ApplyMatched = %v, %v; want [2 0 2]", matched, err)
	}
	if n, err := dflag.Activate("nomatch_zz:"); n != 0 || err != nil {
		t.Errorf("Activate(nomatch) = %d, %v; the C semantics are 0, nil", n, err)
	}
	var terms dflag.Terms
	if err := terms.Set("+nomatch_zz: -exact_q:a"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "term=+nomatch_zz:") || strings.Contains(out, "term=-exact_q:a") {
		t.Errorf("log:\n%s", out)
	}
}
