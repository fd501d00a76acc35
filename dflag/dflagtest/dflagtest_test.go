package dflagtest_test

import (
	"os"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
)

func TestMain(m *testing.M) { dflagtest.Main(m) }

var (
	feature = dflag.Feature("dflagtest", "feature")
	breaker = dflag.Default("dflagtest", "breaker")
	advice  = dflag.Opt("dflagtest_kind", "advice")
)

func TestSetupClearsTheEnvironment(t *testing.T) {
	t.Setenv("DFLAG", "!dflagtest:")
	t.Setenv("DFLAG_STRICT", "1")
	if err := dflagtest.Setup(); err != nil {
		t.Fatal(err)
	}
	for _, v := range dflagtest.Env {
		if _, ok := os.LookupEnv(v); ok {
			t.Errorf("%s is still set", v)
		}
	}
	if !dflag.Initialized() {
		t.Error("not initialised")
	}
}

// TestScopedChangesAreUndone runs each helper in a subtest and checks that
// its change is in force inside and undone when the subtest ends.
func TestScopedChangesAreUndone(t *testing.T) {
	for _, c := range []struct {
		name   string
		do     func(t *testing.T)
		inside func() bool
	}{
		{"Activate", func(t *testing.T) {
			if n := dflagtest.Activate(t, "dflagtest:feature@"); n != 1 {
				t.Errorf("matched %d", n)
			}
		}, func() bool { return feature.On() }},
		{"Unhook", func(t *testing.T) {
			dflagtest.Unhook(t, "dflagtest:feature@")
			dflag.Activate("dflagtest:feature@") // ignored while unhooked
		}, func() bool { s := feature.State(); return s.Unhook == 1 && s.Activation == 0 }},
		{"Hold", func(t *testing.T) { dflagtest.Hold(t, "-dflagtest:breaker@") }, func() bool { return !breaker.On() }},
		{"HoldKind", func(t *testing.T) { dflagtest.HoldKind(t, "dflagtest_kind") }, func() bool { return advice.On() }},
		{"Reset", func(t *testing.T) {
			dflag.Deactivate("dflagtest:breaker@")
			dflagtest.Reset(t)
		}, func() bool { return breaker.On() && breaker.State().Activation == 1 }},
	} {
		before := []dflag.State{feature.State(), breaker.State(), advice.State()}
		var in bool
		t.Run(c.name, func(t *testing.T) {
			c.do(t)
			in = c.inside()
		})
		if !in {
			t.Errorf("%s: not in force inside the test", c.name)
		}
		after := []dflag.State{feature.State(), breaker.State(), advice.State()}
		for i := range before {
			b, a := before[i], after[i]
			if a.On != b.On || a.Activation != b.Activation || a.Unhook != b.Unhook || len(a.Owners) != len(b.Owners) {
				t.Errorf("%s: not undone: %+v -> %+v", c.name, b, a)
			}
		}
	}
}
