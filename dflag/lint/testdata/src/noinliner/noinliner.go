package noinliner

// noinliner imports dflag but never calls On: its export data has
// no body of On.

import (
	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var Kind = aspect.New("noinliner") // want Kind:`kind "noinliner"`

func Name(f *dflag.Flag) string { return "" }
