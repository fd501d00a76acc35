// Package chain imports only viainliner, which inlined On: On inlines.
package chain

import "oninline/viainliner"

func On() bool { return viainliner.Flag.On() }
