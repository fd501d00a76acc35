package dflag_test

import (
	"strings"
	"testing"

	"bounded.dev/dflag"
)

// anchorTracing's full name contains "tracing" after offset 0.
var anchorTracing = dflag.Feature("anchor_tracing", "x", "a record whose name contains tracing inside")

// TestCaretDoesNotUnanchor pins issue 10 item 3: "^zzz|tracing" is anchored
// as a whole, as the C library accepts a match only at offset 0, in every
// function that takes a pattern.
func TestCaretDoesNotUnanchor(t *testing.T) {
	const p = "^zzz|tracing"
	states, err := dflag.List(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if !strings.HasPrefix(s.Name, "zzz") && !strings.HasPrefix(s.Name, "tracing") {
			t.Errorf("List(%q) returned %s", p, s.Name)
		}
	}
	var b strings.Builder
	if err := dflag.WriteList(&b, p); err != nil || strings.Contains(b.String(), "anchor_tracing:") {
		t.Errorf("WriteList(%q) = %v, %q", p, err, b.String())
	}
	before := anchorTracing.State()
	check := func(what string) {
		t.Helper()
		if got := anchorTracing.State(); got.Activation != before.Activation || got.Unhook != before.Unhook || got.On != before.On {
			t.Errorf("%s changed %s: %v -> %v", what, anchorTracing.Name(), before, got)
		}
	}
	if _, err := dflag.Activate(p); err != nil {
		t.Fatal(err)
	}
	check("Activate")
	if _, err := dflag.Unhook(p); err != nil {
		t.Fatal(err)
	}
	check("Unhook")
	dflag.Rehook(p)
	dflag.Deactivate(p)
	if err := dflag.Apply("+" + p); err != nil {
		t.Fatal(err)
	}
	check("Apply")
	dflag.Apply("-" + p)
	if n, err := dflag.ActivateKind("anchor_tracing", p); n != 0 || err != nil {
		t.Errorf("ActivateKind(anchor_tracing, %q) = %d, %v; want 0, nil", p, n, err)
	}
	check("ActivateKind")
	// The same pattern with the kind at the start matches.
	if n, err := dflag.ActivateKind("anchor_tracing", "^zzz|anchor_tracing:x@"); n != 1 || err != nil || !anchorTracing.On() {
		t.Errorf("ActivateKind(anchor_tracing, ^zzz|anchor_tracing:x@) = %d, %v, on %v", n, err, anchorTracing.On())
	}
	dflag.DeactivateKind("anchor_tracing", "")
	// $ is the end of the name.
	if n, _ := dflag.ActivateKind("anchor_tracing", "anchor_tracing:x$"); n != 0 {
		t.Errorf("anchor_tracing:x$ matched %d records", n)
	}
}
