package b

import (
	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var Kind = aspect.New("remote_kind")

//go:noinline
func Noinline() {}

func Inlined() {}

// Opt wraps dflag.Declare: its callers are constructors' call sites.
func Opt(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.OptMode, "b_kind", name, doc...)
}
