// Package viamethodexpr imports only methodexpr: a CALL.
package viamethodexpr

import "oninline/methodexpr"

func On() bool { return methodexpr.Flag.On() }
