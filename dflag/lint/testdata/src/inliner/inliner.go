package inliner // want package:"inlinesOn"

// inliner imports dflag and inlines On, so its export data carries
// On's body: its importers inline On too, as importers of tracing do.

import (
	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var Kind = aspect.New("inliner") // want Kind:`kind "inliner"`

var hook *dflag.Flag = Kind.Opt("hook")

//go:noinline
func Hooked() bool { return hook.On() } // want Hooked:"noinline"
