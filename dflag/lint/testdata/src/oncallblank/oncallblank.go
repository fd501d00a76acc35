package oncallblank // want package:"inlinesOn"

// oncallblank imports dflag blank: that is enough for the compiler
// to inline On.

import (
	"bounded.dev/aspect"
	_ "bounded.dev/dflag"
)

var fast = aspect.New("oncallblank").Opt("fast")

func Fast() bool { return fast.On() }
