package phase_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

// BenchmarkQuiescent is the cost a reader pays between read sections when
// no Enter is waiting.
func BenchmarkQuiescent(b *testing.B) {
	r := phase.Register()
	defer r.Close()
	for b.Loop() {
		r.Quiescent()
	}
}

// BenchmarkQuiescentParallel runs one reader per goroutine.
func BenchmarkQuiescentParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		r := phase.Register()
		defer r.Close()
		for pb.Next() {
			r.Quiescent()
		}
	})
}

// The benchmarks' phases, each with one flag of advice to switch.
var (
	benchWindow       = phase.Of("phase_bench_window")
	benchWindowAdvice = benchWindow.Kind().Opt("advice")
	benchSwitchAdvice = phase.Of("phase_bench_switch").Kind().Opt("advice")
	benchBusy         = phase.Of("phase_bench")
)

// BenchmarkWindow is the cost of a window with no readers: Enter (the
// dflag hold and an empty grace period) and Exit through a *Phase, and the
// same through Do, which does not allocate a Window.
func BenchmarkWindow(b *testing.B) {
	p := benchWindow
	b.Run("enter_exit", func(b *testing.B) {
		for b.Loop() {
			p.Enter().Exit()
		}
	})
	b.Run("do", func(b *testing.B) {
		for b.Loop() {
			p.Do(func() {})
		}
	})
	b.Run("by_name", func(b *testing.B) {
		for b.Loop() {
			phase.Enter("phase_bench_window").Exit() //nolint:staticcheck // the deprecated by-name path, measured
		}
	})
}

// BenchmarkKindSwitch is the dflag part of a window: a kind-wide hold and
// its release, exact for flags registered while the hold is in force, as
// HoldKind and its release closure and as a KindHold's Take and Drop (what
// Enter and Exit use), against an ActivateKind and DeactivateKind pair
// (which misses flags registered in between, so windows cannot use it).
func BenchmarkKindSwitch(b *testing.B) {
	const kind = "phase_bench_switch"
	b.Run("hold_kind", func(b *testing.B) {
		for b.Loop() {
			release, err := dflag.HoldKind(kind)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
	b.Run("kind_hold", func(b *testing.B) {
		h, err := dflag.NewKindHold(kind, "bench:kind_hold")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := h.Take(); err != nil {
				b.Fatal(err)
			}
			if err := h.Drop(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("activate_kind", func(b *testing.B) {
		for b.Loop() {
			if _, err := dflag.ActivateKind(kind, ""); err != nil {
				b.Fatal(err)
			}
			if _, err := dflag.DeactivateKind(kind, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEnterExitTwoBusyReaders is the latency of a window (Enter with
// its grace period, then Exit) while two reader goroutines are busy.
func BenchmarkEnterExitTwoBusyReaders(b *testing.B) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		r := phase.Register()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for !stop.Load() {
				for range 64 {
					r.Quiescent()
				}
			}
		}()
	}
	runtime.Gosched()
	for b.Loop() {
		benchBusy.Enter().Exit()
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
}
