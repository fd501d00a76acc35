// Package methodref imports dflag and only takes On's method value, whose
// wrapper (Flag.On-fm) inlines On.
package methodref

import "bounded.dev/dflag"

var Flag = dflag.Opt("oninline", "methodref")

var On = Flag.On
