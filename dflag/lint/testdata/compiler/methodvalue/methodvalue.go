// Package methodvalue imports a package that only takes On's method value:
// the method value's wrapper inlines On, so On inlines here too.
package methodvalue

import "oninline/methodref"

func On() bool { return methodref.Flag.On() }
