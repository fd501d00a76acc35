// Package blank imports dflag blank: that is enough.
package blank

import (
	_ "bounded.dev/dflag"
	"oninline/exports"
)

func On() bool { return exports.Flag.On() }
