// Package exports declares flags and never calls On: its export data has
// the type *dflag.Flag but no body of On.
package exports

import "bounded.dev/dflag"

var Flag = dflag.Opt("oninline", "exports")
