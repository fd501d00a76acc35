package bench

import (
	"context"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
	"github.com/open-feature/go-sdk/openfeature"
)

// The loop keeps four values live in registers, as a hot loop with a flag
// check in the middle would; the check guards a call the compiler must
// assume can happen.
var (
	hook    = dflag.Opt("bench", "hook_loop", "the flag checked in BenchmarkCheck/Hook")
	atomicB atomic.Bool
	sink    uint64
)

//go:noinline
func slow(a uint64) uint64 { return a*3 + 1 }

// The loops are top-level functions rather than closures so that each
// starts a function (Go aligns those to 32 bytes): closures placed at
// different offsets measured up to 20% apart for the same machine code.

//go:noinline
func loopNoCheck(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		d += e
		e += a
	}
	sink = a + c + d + e
}

//go:noinline
func loopAtomicCheck(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		if atomicB.Load() {
			a = slow(a)
		}
		d += e
		e += a
	}
	sink = a + c + d + e
}

//go:noinline
func loopHookCheck(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		if hook.On() {
			a = slow(a)
		}
		d += e
		e += a
	}
	sink = a + c + d + e
}

func BenchmarkCheck(b *testing.B) {
	if err := dflag.Init(); err != nil {
		b.Fatal(err)
	}
	if hook.On() {
		b.Fatal("the Opt flag must be off after Init")
	}
	b.Run("NoCheck", func(b *testing.B) { loopNoCheck(b.N) })
	b.Run("AtomicBool", func(b *testing.B) { loopAtomicCheck(b.N) })
	b.Run("Hook", func(b *testing.B) { loopHookCheck(b.N) })
	b.Run("OpenFeature", func(b *testing.B) {
		// The client a Go service would otherwise use, with the default
		// no-op provider: the cheapest OpenFeature configuration.
		client := openfeature.NewDefaultClient()
		ctx := context.Background()
		a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
		for i := 0; i < b.N; i++ {
			a += c
			c ^= d >> 1
			if client.Boolean(ctx, "hook_loop", false, openfeature.EvaluationContext{}) {
				a = slow(a)
			}
			d += e
			e += a
		}
		sink = a + c + d + e
	})
}

// kindFlags are ten hook flags of one kind, as the request_tracing advice of
// a service would be.
var kindFlags = func() []*dflag.Flag {
	var fs []*dflag.Flag
	for range 10 {
		// Ten records on purpose: the benchmark needs a kind of ten flags.
		//dflaglint:ignore
		fs = append(fs, dflag.Opt("bench_kind", "advice"))
	}
	return fs
}()

// BenchmarkKindPair is what an opted-in request costs the core when no
// call site has to be patched: one ActivateKind and one DeactivateKind.
func BenchmarkKindPair(b *testing.B) {
	dflag.Init()
	for b.Loop() {
		dflag.ActivateKind("bench_kind", "")
		dflag.DeactivateKind("bench_kind", "")
	}
	if kindFlags[0].On() {
		b.Fatal("pairs left the kind on")
	}
}
