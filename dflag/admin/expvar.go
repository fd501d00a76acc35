package admin

import (
	"expvar"

	"bounded.dev/dflag"
)

// Expvar returns an [expvar.Var] whose value is the flag table, as the JSON
// array GET {prefix}/flags returns, computed each time it is read.
func Expvar() expvar.Var {
	return expvar.Func(func() any {
		states, _ := dflag.List("") // the empty pattern is valid
		return flags(states)
	})
}

// PublishExpvar publishes the flag table ([Expvar]) under name, so that it
// appears in /debug/vars. Like [expvar.Publish], it panics if name is
// already published.
func PublishExpvar(name string) {
	expvar.Publish(name, Expvar())
}
