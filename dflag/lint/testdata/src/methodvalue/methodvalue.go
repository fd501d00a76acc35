package methodvalue // want package:"inlinesOn"

// methodvalue imports dflag and takes On's method value only: the
// compiler's wrapper for it (Flag.On-fm) inlines On, which is enough for
// the body to be re-exported.

import "bounded.dev/dflag"

var Flag = dflag.Opt("k", "methodvalue")

var On = Flag.On
