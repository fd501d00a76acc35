package oncalltyped // want package:"inlinesOn"

// oncalltyped imports dflag; the variable's type is not what makes
// On inline, the import is.

import (
	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var kind = aspect.New("oncalltyped") // want kind:`kind "oncalltyped"`

var typed *dflag.Flag = kind.Opt("typed")

var untyped = kind.Opt("untyped")

func Fast() bool { return typed.On() || untyped.On() }
