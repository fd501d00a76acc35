package oncallvia // want package:"inlinesOn"

// oncallvia imports only inliner, which inlines On.

import "inliner"

var fast = inliner.Kind.Opt("via")

func Fast() bool { return fast.On() }
