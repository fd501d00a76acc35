package dflag

import (
	"errors"
	"strings"
	"testing"
)

func TestIsClosure(t *testing.T) {
	for name, want := range map[string]bool{
		"bounded.dev/dflag.F":              false,
		"bounded.dev/dflag.(*T).M":         false,
		"bounded.dev/dflag.T.M":            false,
		"main.main":                        false,
		"bounded.dev/dflag.F.func1":        true,
		"bounded.dev/dflag.F.func1.2":      true,
		"bounded.dev/dflag.glob..func3":    true,
		"bounded.dev/dflag.init.func1":     true,
		"bounded.dev/dflag.F-range1":       true,
		"gopkg.in/yaml%2ev3.(*T).M.func12": true,
		"bounded.dev/dflag.funcs":          false,
	} {
		if got := isClosure(name); got != want {
			t.Errorf("isClosure(%q) = %v, want %v", name, got, want)
		}
	}
}

//go:noinline
func unavailableTarget() {}

//go:noinline
func callUnavailable() { unavailableTarget() }

// TestCallSitesUnavailable registers call sites in a process that cannot
// patch them.
func TestCallSitesUnavailable(t *testing.T) {
	callUnavailable()
	saved := patchStatus
	defer func() { patchStatus = saved }()
	patchStatus = func() error { return errors.New("mprotect refused: test") }

	err := PatchStatus()
	if err == nil || !strings.Contains(err.Error(), "keep running") || !strings.Contains(err.Error(), "mprotect refused: test") {
		t.Errorf("PatchStatus = %v", err)
	}
	n, err := OptCalls("cs_unavailable", "x", unavailableTarget)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "mprotect refused: test") {
		t.Errorf("OptCalls = %d, %v; want the reason", n, err)
	}
	if states, _ := List("cs_unavailable:"); len(states) != 0 {
		t.Errorf("records registered: %v", states)
	}
}
