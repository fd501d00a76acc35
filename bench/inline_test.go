package bench

import (
	"testing"

	"bounded.dev/bench/internal/oncall"
	"bounded.dev/bench/internal/onload"
	"bounded.dev/dflag"
)

// BenchmarkOn is the cost of the inlining rule of bounded.dev/dflag/lint:
// the same loop as BenchmarkCheck/Hook, in a package whose compile inlines
// On (inlined) and in one whose compile cannot (call).
func BenchmarkOn(b *testing.B) {
	if err := dflag.Init(); err != nil {
		b.Fatal(err)
	}
	if onload.Flag.On() || oncall.Flag.On() {
		b.Fatal("the Opt flags must be off after Init")
	}
	b.Run("inlined", func(b *testing.B) { onload.Loop(b.N) })
	b.Run("call", func(b *testing.B) { oncall.Loop(b.N) })
}
