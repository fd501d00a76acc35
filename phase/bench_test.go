package phase_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

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

// BenchmarkWindow is the cost of a window with no readers: Enter (the
// dflag hold and an empty grace period) and Exit through a *Phase, and the
// same through Do, which does not allocate a Window.
func BenchmarkWindow(b *testing.B) {
	p := phase.Of("phase_bench_window")
	_ = p.Kind().Opt("advice")
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
			phase.Enter("phase_bench_window").Exit()
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
		phase.Enter("phase_bench").Exit()
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
}
