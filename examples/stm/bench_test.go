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

// sum folds a row into a checksum, so that every cell read is used.
func sum(v stm.Row) uint64 { return v[0] + v[1] + v[2] + v[3] }

// BenchmarkRead compares reads of one random row (stm.Width cells) from a
// 1024-row table, side by side, with one reader goroutine per processor
// (RunParallel with parallelism 1: run it with -cpu=1,2 for one and two
// readers; ns/op is wall time per read across all readers). Every loop is
// the same: a xorshift step picks the row, the row's cells are summed, and
// each table's Read inlines except rwmutex's.
//
//   - floor: stm.PlainTable, the row copied with no synchronisation at all.
//   - stm: the stm table outside windows: a flag check and the copy.
//   - stm_in_window: the stm table with its barrier on and no batch running
//     (the seqlock path, out of line, with a quiescent state per read).
//   - seqlock: stm.SeqlockTable, a plain seqlock without phases.
//   - rwmutex: stm.LockedTable, behind a sync.RWMutex.
//   - cow: stm.COWTable, an atomic.Pointer copy-on-write snapshot.
func BenchmarkRead(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		tab := stm.NewPlain(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += sum(tab.Read(int(x % benchRows)))
			}
			sinkAll.Add(sink)
		})
	})
	b.Run("stm", readSTM)
	b.Run("stm_in_window", func(b *testing.B) {
		release := phase.STM.Kind().Activate() // barrier on, no batch
		defer release()
		readSTM(b)
	})
	b.Run("seqlock", func(b *testing.B) {
		tab := stm.NewSeqlock(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += sum(tab.Read(int(x % benchRows)))
			}
			sinkAll.Add(sink)
		})
	})
	b.Run("rwmutex", func(b *testing.B) {
		tab := stm.NewLocked(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += sum(tab.Read(int(x % benchRows)))
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
				sink += sum(tab.Read(int(x % benchRows)))
			}
			sinkAll.Add(sink)
		})
	})
}

// readSTM is BenchmarkRead's stm loop. It is not inlined: the compiler
// does not inline calls inside the copy of a closure that it makes when it
// inlines the closure's enclosing function, which would put calls into the
// stm_in_window loop that the stm loop does not have.
//
//go:noinline
func readSTM(b *testing.B) {
	tab := stm.New(benchRows)
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		rd := tab.NewReader()
		defer rd.Close()
		x, sink := seed(), uint64(0)
		for pb.Next() {
			x = next(x)
			sink += sum(rd.Read(int(x % benchRows)))
		}
		sinkAll.Add(sink)
	})
}

// BenchmarkReadThenQuiescent is BenchmarkRead/stm with a quiescent state
// announced after every read, as a reader that pauses between reads does:
// the upper bound of what a reader pays outside windows.
func BenchmarkReadThenQuiescent(b *testing.B) {
	b.Run("stm", func(b *testing.B) {
		tab := stm.New(benchRows)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			rd := tab.NewReader()
			defer rd.Close()
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += sum(rd.Read(int(x % benchRows)))
				rd.Quiescent()
			}
			sinkAll.Add(sink)
		})
	})
}

// BenchmarkApply is the cost of a batch of 16 rows with no readers: an stm
// window (Enter, with its grace period, and Exit) around in-place writes
// inside the seqlock; the plain seqlock; the write lock; and a copy of the
// whole table.
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
	b.Run("seqlock", func(b *testing.B) {
		tab := stm.NewSeqlock(benchRows)
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
				sink += sum(rd.Read(int(x % benchRows)))
			}
			sinkAll.Add(sink)
		})
		b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "batches/s")
	})
	b.Run("seqlock", func(b *testing.B) {
		tab := stm.NewSeqlock(benchRows)
		stop := writer(tab.Apply)
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			x, sink := seed(), uint64(0)
			for pb.Next() {
				x = next(x)
				sink += sum(tab.Read(int(x % benchRows)))
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
				sink += sum(tab.Read(int(x % benchRows)))
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
				sink += sum(tab.Read(int(x % benchRows)))
			}
			sinkAll.Add(sink)
		})
		b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "batches/s")
	})
}
