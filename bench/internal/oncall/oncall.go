// Package oncall holds BenchmarkOn's loop in a package that imports aspect
// only, so the compiler has no body of On to inline and each check is a
// CALL. It is package onload's twin, byte for byte but for the dflag import.
package oncall

import (
	"bounded.dev/aspect"
)

// Flag is the flag the loop checks; it is off after dflag.Init.
var Flag = aspect.New("bench_oncall").Opt("loop", "the flag checked in BenchmarkOn/call")

var sink uint64

//go:noinline
func slow(a uint64) uint64 { return a*3 + 1 }

// Loop runs n iterations of the hook-check loop of BenchmarkCheck.
//
//go:noinline
func Loop(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		//dflaglint:ignore the CALL is what this loop measures
		if Flag.On() {
			a = slow(a)
		}
		d += e
		e += a
	}
	sink = a + c + d + e
}
