package dflag

import "testing"

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
