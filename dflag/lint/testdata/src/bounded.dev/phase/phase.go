// Package phase is a stub of bounded.dev/phase's API for the analyzer's tests.
package phase

import "bounded.dev/aspect"

const STM = "stm"

func Kind(name string) *aspect.Kind { return aspect.New(name) }

const SteadyState = "steady_state"

type Phase struct{ kind *aspect.Kind }

func Of(name string) *Phase { return &Phase{aspect.New(name)} }

func (p *Phase) Kind() *aspect.Kind { return p.kind }

// The packages that implement the constructors are not checked: their
// tests call them in functions, and with bad names, on purpose.
func internalUse() {
	_ = Of("not ok")
	_ = Kind("k").Opt("in_func")
}
