// Package direct imports dflag: On inlines whatever the variable's type.
package direct

import (
	"bounded.dev/dflag"
	"oninline/exports"
)

var typed *dflag.Flag = exports.Flag

var untyped = exports.Flag

func On() bool { return typed.On() || untyped.On() || exports.Flag.On() }
