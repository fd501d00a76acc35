package aspect_test

import (
	"testing"

	"bounded.dev/aspect"
)

// BenchmarkActivateWhileActive measures Activate and release when the kind
// already has a holder: the fast path, with no dflag call.
func BenchmarkActivateWhileActive(b *testing.B) {
	k := aspect.New("aspect_bench_active", aspect.WithLinger(0))
	defer k.Activate()()
	b.ReportAllocs()
	for b.Loop() {
		k.Activate()()
	}
}

// BenchmarkDoWhileActive is the allocation-free form of the fast path.
func BenchmarkDoWhileActive(b *testing.B) {
	k := aspect.New("aspect_bench_do", aspect.WithLinger(0))
	defer k.Activate()()
	fn := func() {}
	b.ReportAllocs()
	for b.Loop() {
		k.Do(fn)
	}
}

// BenchmarkActivateLingering is a burst of activations with nobody else
// holding the kind: each is a 0->1 transition absorbed by the linger.
func BenchmarkActivateLingering(b *testing.B) {
	k := aspect.New("aspect_bench_linger")
	k.Opt("f")
	b.ReportAllocs()
	for b.Loop() {
		k.Activate()()
	}
	k.Flush()
}

// BenchmarkActivateNoLinger switches the kind's flags on every activation.
func BenchmarkActivateNoLinger(b *testing.B) {
	k := aspect.New("aspect_bench_nolinger", aspect.WithLinger(0))
	k.Opt("f")
	b.ReportAllocs()
	for b.Loop() {
		k.Activate()()
	}
}
