package stm_test

import (
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/examples/stm"
	"bounded.dev/phase"
)

const benchRows = 1024

// seeds gives each parallel benchmark goroutine its own row sequence.
var seeds atomic.Uint64

// seed returns a non-zero xorshift state.
func seed() uint64 { return seeds.Add(1)*0x9E3779B97F4A7C15 | 1 }

// next is a xorshift step: a cheap pseudo-random row sequence.
func next(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

// sinkAll keeps the reads from being optimised away.
var sinkAll atomic.Uint64

// BenchmarkRead compares read throughput, side by side, with as many reader
// goroutines as GOMAXPROCS (two on the project's machine), each reading one
// random row of stm.Width cells per iteration: the stm table outside
// windows (fast path, and a quiescent state after every read), the stm
// table inside a window (seqlock barrier), the same table behind a
// sync.RWMutex, and an atomic.Pointer copy-on-write table.
func BenchmarkRead(b *testing.B) {
	stmReads := func(b *testing.B) {
		tab := stm.New(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			rd := tab.NewReader()
			defer rd.Close()
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += rd.Read(int(x % benchRows))[0]
				rd.Quiescent()
			}
			sinkAll.Add(sink)
		})
	}
	b.Run("stm", stmReads)
	b.Run("stm_in_window", func(b *testing.B) {
		release := phase.Kind(phase.STM).Activate() // barrier on, no batch
		defer release()
		stmReads(b)
	})
	b.Run("rwmutex", func(b *testing.B) {
		tab := stm.NewLocked(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += tab.Read(int(x % benchRows))[0]
			}
			sinkAll.Add(sink)
		})
	})
	b.Run("cow", func(b *testing.B) {
		tab := stm.NewCOW(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += tab.Read(int(x % benchRows))[0]
			}
			sinkAll.Add(sink)
		})
	})
}

// BenchmarkApply is the cost of a batch of 16 rows: an stm window (Enter,
// with its grace period, and Exit) around in-place writes; the write lock;
// and a copy of the whole table.
func BenchmarkApply(b *testing.B) {
	batch := make([]stm.Update, 16)
	for i := range batch {
		batch[i] = stm.Update{Row: i * 61 % benchRows, Value: stm.Row{1, 1, 1, 1}}
	}
	b.Run("stm", func(b *testing.B) {
		tab := stm.New(benchRows)
		for b.Loop() {
			tab.Apply(batch)
		}
	})
	b.Run("rwmutex", func(b *testing.B) {
		tab := stm.NewLocked(benchRows)
		for b.Loop() {
			tab.Apply(batch)
		}
	})
	b.Run("cow", func(b *testing.B) {
		tab := stm.NewCOW(benchRows)
		for b.Loop() {
			tab.Apply(batch)
		}
	})
}

// BenchmarkReadWithBatches is BenchmarkRead while another goroutine applies
// a 16-row batch, sleeps 100 µs, and starts again, so that stm readers pay
// for windows: the barrier inside them and the quiescent states that end
// grace periods. The batches/s metric says how often the writer got to run:
// with as many busy readers as processors, a writer that sleeps only gets a
// processor back when the scheduler preempts a reader.
func BenchmarkReadWithBatches(b *testing.B) {
	batch := make([]stm.Update, 16)
	for i := range batch {
		batch[i] = stm.Update{Row: i * 61 % benchRows, Value: stm.Row{2, 2, 2, 2}}
	}
	// writer runs apply in a loop until the returned stop is called.
	writer := func(apply func([]stm.Update)) (stop func() int) {
		var done atomic.Bool
		var n int
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			for !done.Load() {
				apply(batch)
				n++
				time.Sleep(100 * time.Microsecond)
			}
		}()
		return func() int {
			done.Store(true)
			<-finished
			return n
		}
	}
	b.Run("stm", func(b *testing.B) {
		tab := stm.New(benchRows)
		stop := writer(tab.Apply)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			rd := tab.NewReader()
			defer rd.Close()
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += rd.Read(int(x % benchRows))[0]
				rd.Quiescent()
			}
			sinkAll.Add(sink)
		})
		b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "batches/s")
	})
	b.Run("rwmutex", func(b *testing.B) {
		tab := stm.NewLocked(benchRows)
		stop := writer(tab.Apply)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += tab.Read(int(x % benchRows))[0]
			}
			sinkAll.Add(sink)
		})
		b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "batches/s")
	})
	b.Run("cow", func(b *testing.B) {
		tab := stm.NewCOW(benchRows)
		stop := writer(tab.Apply)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += tab.Read(int(x % benchRows))[0]
			}
			sinkAll.Add(sink)
		})
		b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "batches/s")
	})
}
