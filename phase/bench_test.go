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
