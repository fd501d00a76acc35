package oncall

// oncall imports aspect only: the compiler has no body of On to
// inline.

import "bounded.dev/aspect"

var kind = aspect.New("oncall") // want kind:`kind "oncall"`

var slow = kind.Opt("slow")

func Slow() bool {
	return slow.On() // want `\(\*dflag.Flag\).On is not inlined here \(a CALL, not one load\)`
}

func Ignored() bool {
	//dflaglint:ignore measured on purpose
	return slow.On()
}

func ValueOnly() func() bool {
	return slow.On // a method value: calling it is an indirect call either way
}
