package dflag_test

import (
	"slices"
	"strings"
	"testing"

	"bounded.dev/dflag"
)

var kindHoldFeature = dflag.Feature("kind_hold_t", "feature")

// ownerNames returns the names of a flag's owners.
func ownerNames(f *dflag.Flag) []string {
	var out []string
	for _, o := range f.State().Owners {
		out = append(out, o.Name)
	}
	return out
}

// TestKindHoldTakeDrop: a KindHold is HoldKind's activation of every flag
// of the kind (later ones too), listed under its owner's name; Take and
// Drop are idempotent, and a HoldKind beside it is listed as kind:<kind>.
func TestKindHoldTakeDrop(t *testing.T) {
	h, err := dflag.NewKindHold("kind_hold_t", "phase:kind_hold_t")
	must(t, err)
	if h.Taken() || kindHoldFeature.On() {
		t.Fatal("a new KindHold is taken")
	}
	must(t, h.Take())
	must(t, h.Take()) // taken: nothing more
	if s := kindHoldFeature.State(); !s.On || s.Activation != 1 || !h.Taken() {
		t.Fatalf("after Take: %+v", s)
	}
	if got := ownerNames(kindHoldFeature); !slices.Equal(got, []string{"phase:kind_hold_t"}) {
		t.Errorf("owners under a KindHold: %q", got)
	}
	release, err := dflag.HoldKind("kind_hold_t")
	must(t, err)
	if got := ownerNames(kindHoldFeature); !slices.Equal(got, []string{"kind:kind_hold_t", "phase:kind_hold_t"}) {
		t.Errorf("owners under a KindHold and a HoldKind: %q", got)
	}
	release()
	late := dflag.Declare(0, dflag.ModeFeature, "kind_hold_t", "late") //dflaglint:ignore a flag registered while the kind is held is what this tests
	if !late.On() {
		t.Error("a flag registered while the KindHold is taken is off")
	}
	must(t, h.Drop())
	must(t, h.Drop()) // dropped: nothing more
	if kindHoldFeature.On() || late.On() || h.Taken() || len(kindHoldFeature.State().Owners) != 0 {
		t.Fatalf("after Drop: %+v, late on %v", kindHoldFeature.State(), late.On())
	}
	if s := kindHoldFeature.State(); s.Activation != 0 {
		t.Fatalf("Drop left activation %d", s.Activation)
	}
}

// TestNewKindHoldRefusesBadNames: a bad kind or owner is an error that
// says what is wrong, and nothing is held.
func TestNewKindHoldRefusesBadNames(t *testing.T) {
	for _, c := range []struct{ kind, owner, want string }{
		{"not a kind", "x", "not an identifier"},
		{"", "x", "empty kind"},
		{"kind_hold_t", "", "empty owner name"},
		{"kind_hold_t", "a\nb", "control character"},
		{"kind_hold_t", strings.Repeat("o", 257), "over the limit"},
	} {
		h, err := dflag.NewKindHold(c.kind, c.owner)
		if h != nil || err == nil || !strings.HasPrefix(err.Error(), "dflag: NewKindHold") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewKindHold(%q, %q) = %v, %v; want an error with %q", c.kind, c.owner, h, err, c.want)
		}
	}
	if kindHoldFeature.On() {
		t.Error("a refused NewKindHold switched the kind on")
	}
}
