package phase

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// cacheLine is the padding unit that keeps hot words apart.
const cacheLine = 64

// gp is the grace-period state. The epoch, read by every Quiescent, sits on
// its own cache line.
var gp struct {
	_     [cacheLine]byte
	epoch atomic.Uint64 // starts at 1: a reader's seen value 0 means offline
	_     [cacheLine - 8]byte

	mu      sync.Mutex                // serialises Register and Close
	readers atomic.Pointer[[]*Reader] // copy-on-write list, scanned by Enter

	waiting atomic.Int32  // writers blocked in wait
	resumed atomic.Uint32 // writers woken by a reader
	wmu     sync.Mutex    // guards wake
	wake    chan struct{} // closed by the next announcing reader; nil if none
}

func init() { gp.epoch.Store(1) }

// Synchronize waits for a grace period: it returns when every reader that
// was registered and online when it was called has announced a quiescent
// state since, so every read section that was running when Synchronize was
// called has ended. Enter calls it after switching the advice on; it is
// also what a writer that unlinks data readers may still use calls before
// reusing it. Like Enter, it must not be called by a goroutine whose own
// Reader is online.
func Synchronize() {
	e := gp.epoch.Add(1)
	list := gp.readers.Load()
	if list == nil {
		return
	}
	for _, r := range *list {
		if !r.passed(e) {
			r.wait(e)
		}
	}
}

// passed reports whether r is offline or has announced epoch e or later.
func (r *Reader) passed(e uint64) bool {
	s := r.seen.Load()
	return s == 0 || s >= e
}

// wait returns when r has passed epoch e. It spins briefly, for a reader
// running on another processor, then blocks until a reader announces a
// quiescent state (see [Reader.announce]) or a back-off timer (50 µs
// doubling to 1 ms, for a reader in a long read section) fires.
//
// Blocking rather than spinning or yielding matters when busy goroutines
// outnumber processors (two busy readers and the writer on two cores): the
// reader the writer waits for may be queued, and only gets a processor if
// the writer gives its own up; a yield would not, as the scheduler takes
// the writer straight back from the global queue. The announcing reader
// wakes the writer and yields to it, so no one waits for preemption.
func (r *Reader) wait(e uint64) {
	for range 64 {
		if r.passed(e) {
			return
		}
	}
	gp.waiting.Add(1)
	defer gp.waiting.Add(-1)
	var timer *time.Timer
	d := 50 * time.Microsecond
	for {
		gp.wmu.Lock()
		if gp.wake == nil {
			gp.wake = make(chan struct{})
		}
		wake := gp.wake
		gp.wmu.Unlock()
		// Announcing readers store seen, then load waiting; this goroutine
		// stored waiting, then loads seen: one of the two sees the other.
		if r.passed(e) {
			if timer != nil {
				timer.Stop()
			}
			return
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-wake:
			gp.resumed.Add(1)
		case <-timer.C:
			d = min(2*d, time.Millisecond)
		}
	}
}

// Reader is a goroutine that runs fast paths skipping phase advice while
// it is off, and announces quiescent states so that [Enter] knows when it
// no longer runs a read section that saw the advice off. A Reader belongs to
// one goroutine at a time.
type Reader struct {
	// seen is the epoch the reader loaded at its last quiescent state, or
	// 0 while it is offline or closed. It is alone on its cache line
	// (Readers are 128 bytes, a size class whose objects are 128-byte
	// aligned), so readers do not slow each other down.
	seen   atomic.Uint64
	closed atomic.Bool
	_      [2*cacheLine - 8 - 4]byte
}

// Register adds a reader, online, and returns it. The caller must
// [Reader.Close] it when the goroutine stops reading.
func Register() *Reader {
	r := &Reader{}
	r.seen.Store(gp.epoch.Load())
	gp.mu.Lock()
	defer gp.mu.Unlock()
	var list []*Reader
	if old := gp.readers.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, r)
	gp.readers.Store(&list)
	return r
}

// Quiescent announces a quiescent state: the reader holds nothing it read
// in an earlier read section. Call it between read sections, as often as is
// convenient; it costs two loads when no Enter is waiting, and a store (and
// a yield to the writer, if it is blocked) once per grace period. On an
// offline reader it also brings the reader online.
func (r *Reader) Quiescent() {
	if r.seen.Load() != gp.epoch.Load() {
		r.announce()
	}
}

// announce is Quiescent's slow path, taken once per grace period and kept
// out of line so that Quiescent inlines. It publishes the current epoch
// and, if a writer is blocked in Synchronize, wakes it and yields the
// processor to it. Without the yield, a woken writer would wait for a
// processor while busy readers occupy them all (two readers on two cores)
// until the scheduler preempts one, 10 ms or more.
func (r *Reader) announce() {
	r.seen.Store(gp.epoch.Load())
	if gp.waiting.Load() == 0 {
		return
	}
	resumed := gp.resumed.Load()
	if !wakeWriters() {
		runtime.Gosched()
		return
	}
	// The woken writer sits in this processor's next slot, and a yield
	// runs it, except when the scheduler's fairness check (one schedule in
	// 61) takes a goroutine from the global queue instead: yield again
	// then, a few times at most.
	for range 4 {
		runtime.Gosched()
		if gp.resumed.Load() != resumed {
			break
		}
	}
}

// wakeWriters wakes the writers blocked in Synchronize, if any, and
// reports whether there were.
func wakeWriters() bool {
	gp.wmu.Lock()
	wake := gp.wake
	gp.wake = nil
	gp.wmu.Unlock()
	if wake == nil {
		return false
	}
	close(wake)
	return true
}

// Offline announces that the reader runs no read section until
// [Reader.Online], so that Enter does not wait for it. Call it before
// blocking. A writer waiting for the reader is woken.
func (r *Reader) Offline() {
	r.seen.Store(0)
	if gp.waiting.Load() != 0 {
		wakeWriters()
	}
}

// Online ends an offline period; read sections may follow.
func (r *Reader) Online() {
	if !r.closed.Load() {
		r.seen.Store(gp.epoch.Load())
	}
}

// Close unregisters the reader; it is idempotent. A closed reader never
// delays Enter, and must not be used again.
func (r *Reader) Close() {
	if r.closed.Swap(true) {
		return
	}
	r.Offline()
	gp.mu.Lock()
	defer gp.mu.Unlock()
	old := gp.readers.Load()
	list := make([]*Reader, 0, len(*old))
	for _, q := range *old {
		if q != r {
			list = append(list, q)
		}
	}
	gp.readers.Store(&list)
}
