// Package indirect reaches *dflag.Flag only through exports: a CALL.
package indirect

import "oninline/exports"

func On() bool { return exports.Flag.On() }
