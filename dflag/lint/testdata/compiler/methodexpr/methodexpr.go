// Package methodexpr imports dflag but only takes On's method expression,
// which is On itself: nothing is inlined.
package methodexpr

import "bounded.dev/dflag"

var Flag = dflag.Opt("oninline", "methodexpr")

var On = (*dflag.Flag).On
