//go:build linux && (amd64 || arm64)

package bench

//go:generate go run callsite_gen.go

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/patch"
)

// The targets of BenchmarkCallSite: three identical functions, so that the
// only difference between the variants is what happens to the call.
var csSink uint64

//go:noinline
func csPlain(a uint64) { csSink += a }

//go:noinline
func csDefault(a uint64) { csSink += a }

//go:noinline
func csOpt(a uint64) { csSink += a }

var (
	csDefaultN, csDefaultErr = dflag.DefaultCalls("bench_cs", "default", csDefault, "the enabled call site of BenchmarkCallSite")
	csOptN, csOptErr         = dflag.OptCalls("bench_cs", "opt", csOpt, "the disabled call site of BenchmarkCallSite")
	csHook                   = dflag.Opt("bench_cs", "hook", "the hook checked in BenchmarkCallSite/HookOff")
)

// The loops of BenchmarkCallSite: top-level functions of identical code but
// for the function they call, so that the linker lays them out at the same
// offset in a 64-byte cache line (BenchmarkCallSite logs it if not): closures
// at different offsets differed by up to 20% for the same machine code.

//go:noinline
func loopPlain(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		csPlain(a)
		d += e
		e += a
	}
	csSink += a + c + d + e
}

//go:noinline
func loopDefault(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		csDefault(a)
		d += e
		e += a
	}
	csSink += a + c + d + e
}

//go:noinline
func loopOpt(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		csOpt(a)
		d += e
		e += a
	}
	csSink += a + c + d + e
}

//go:noinline
func loopHook(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		if csHook.On() {
			csPlain(a)
		}
		d += e
		e += a
	}
	csSink += a + c + d + e
}

//go:noinline
func loopNoCall(n int) {
	a, c, d, e := uint64(1), uint64(2), uint64(3), uint64(4)
	for i := 0; i < n; i++ {
		a += c
		c ^= d >> 1
		d += e
		e += a
	}
	csSink += a + c + d + e
}

// BenchmarkCallSite runs the loop of BenchmarkCheck (four live values)
// around a call: a plain call, an enabled Default call site (the untouched
// call), a disabled Opt call site (TEST in place of CALL on amd64, NOP in
// place of BL on arm64), the same call
// behind a hook flag that is off, and no call at all.
func BenchmarkCallSite(b *testing.B) {
	dflag.Init()
	if csDefaultErr != nil || csOptErr != nil {
		b.Fatal(csDefaultErr, csOptErr)
	}
	if csDefaultN != 1 || csOptN != 1 {
		b.Fatalf("registered %d and %d sites, want 1 and 1", csDefaultN, csOptN)
	}
	if csHook.On() {
		b.Fatal("the hook must be off after Init")
	}
	entry := func(fn any) uintptr { return reflect.ValueOf(fn).Pointer() }
	if p, d, o := entry(loopPlain)%64, entry(loopDefault)%64, entry(loopOpt)%64; p != d || p != o {
		b.Logf("the loops are at different offsets in a cache line (%d, %d, %d): the comparison measures code placement too", p, d, o)
	}
	b.Run("Plain", func(b *testing.B) { loopPlain(b.N) })
	b.Run("DefaultOn", func(b *testing.B) { loopDefault(b.N) })
	b.Run("OptOff", func(b *testing.B) { loopOpt(b.N) })
	b.Run("HookOff", func(b *testing.B) { loopHook(b.N) })
	b.Run("NoCall", func(b *testing.B) { loopNoCall(b.N) })
	// The Opt site stayed off and the Default site on throughout.
	states, _ := dflag.List("bench_cs:(default|opt)@")
	for _, st := range states {
		if st.On != (st.Mode == dflag.DefaultMode) || !st.CallSite() {
			b.Errorf("%s: %+v", st.Name, st)
		}
	}
}

// runSites calls every site of s once and returns how many calls ran.
func runSites(s *flipSet) uint64 {
	before := *s.hits
	for _, f := range s.sites {
		f(1)
	}
	return *s.hits - before
}

// BenchmarkCallSiteFlip measures ActivateKind and DeactivateKind on kinds
// of 1, 10, 100 and 1,000 call sites (callsite_sites_test.go). Each op is
// one ActivateKind and one DeactivateKind; activate-us and deactivate-us
// report each way, mprotects/op and pages/op the engine's work.
func BenchmarkCallSiteFlip(b *testing.B) {
	dflag.Init()
	for _, s := range flipSets {
		b.Run(s.kind[len("bench_flip"):], func(b *testing.B) {
			if s.err != nil || s.n != len(s.sites) {
				b.Fatalf("%s: registered %d sites of %d: %v", s.kind, s.n, len(s.sites), s.err)
			}
			if got := runSites(s); got != 0 {
				b.Fatalf("%d of %d Opt sites run after Init", got, s.n)
			}
			st := patch.ReadStats()
			var on, off time.Duration
			for b.Loop() {
				t0 := time.Now()
				dflag.ActivateKind(s.kind, "")
				t1 := time.Now()
				dflag.DeactivateKind(s.kind, "")
				on += t1.Sub(t0)
				off += time.Since(t1)
			}
			got := patch.ReadStats()
			n := float64(b.N)
			b.ReportMetric(float64(on.Microseconds())/n, "activate-us")
			b.ReportMetric(float64(off.Microseconds())/n, "deactivate-us")
			b.ReportMetric(float64(got.Mprotects-st.Mprotects)/n, "mprotects/op")
			b.ReportMetric(float64(got.Pages-st.Pages)/n, "pages/op")
			// One store per site and switch: a byte on amd64, a word on arm64.
			perSite := map[string]uint64{"amd64": 1, "arm64": 4}[runtime.GOARCH]
			if w, want := got.Bytes-st.Bytes, uint64(2*s.n*b.N)*perSite; w != want {
				b.Fatalf("wrote %d bytes, want %d", w, want)
			}
			// The flips were real: every site runs once activated.
			dflag.ActivateKind(s.kind, "")
			if got := runSites(s); got != uint64(s.n) {
				b.Fatalf("%d of %d sites run when activated", got, s.n)
			}
			dflag.DeactivateKind(s.kind, "")
			if got := runSites(s); got != 0 {
				b.Fatalf("%d of %d sites run when deactivated", got, s.n)
			}
		})
	}
}
