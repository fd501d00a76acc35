// Package onload holds BenchmarkOn's loop in a package that imports dflag
// (blank: the import is what matters), so the compiler inlines On to one
// load. It is package oncall's twin, byte for byte but for that import.
package onload

import (
	"bounded.dev/aspect"
	_ "bounded.dev/dflag"
)

// Flag is the flag the loop checks; it is off after dflag.Init.
var Flag = aspect.New("bench_onload").Opt("loop", "the flag checked in BenchmarkOn/inlined")

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
		if Flag.On() {
			a = slow(a)
		}
		d += e
		e += a
	}
	sink = a + c + d + e
}
