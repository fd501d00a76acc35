// Package viainliner imports only inliner: On inlines, and viainliner
// re-exports its body in turn.
package viainliner

import "oninline/inliner"

var Flag = inliner.Flag

func On() bool { return inliner.Flag.On() }
