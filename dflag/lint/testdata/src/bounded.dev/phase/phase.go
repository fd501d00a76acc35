// Package phase is a stub of bounded.dev/phase's API for the analyzer's tests.
package phase

import "bounded.dev/aspect"

const STM = "stm"

func Kind(name string) *aspect.Kind { return aspect.New(name) }

const SteadyState = "steady_state"

type Phase struct{ kind *aspect.Kind }

func Of(name string) *Phase { return &Phase{aspect.New(name)} }

func (p *Phase) Kind() *aspect.Kind { return p.kind }
