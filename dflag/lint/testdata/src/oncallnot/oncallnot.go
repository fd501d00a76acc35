package oncallnot

// oncallnot imports only noinliner, whose export data has no body
// of On. (Importing oncallvia, which inlines On, would be enough.)

import "noinliner"

var slow = noinliner.Kind.Opt("not")

func Slow() bool {
	return slow.On() // want `\(\*dflag.Flag\).On is not inlined here`
}
