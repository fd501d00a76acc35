// Package inliner imports dflag and inlines On, in a function that is
// itself never inlined: its export data carries On's body.
package inliner

import (
	"bounded.dev/dflag"
	"oninline/exports"
)

var Flag *dflag.Flag = exports.Flag

//go:noinline
func On() bool { return Flag.On() }
