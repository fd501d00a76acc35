// Package stm is an example of the stm phase: an in-memory table whose
// batches are applied in place, and whose readers take a lock-free fast
// path, with no read barrier at all, except inside the stm windows that
// surround batches.
//
// A [Table] is a fixed number of rows of [Width] cells. [Table.Apply]
// opens a window with phase.Enter(phase.STM): that switches the read
// barrier on (a flag of kind stm) and waits until no reader is still in a
// read section that saw it off. Only then does Apply write the cells, inside
// a seqlock (the sequence number is odd while a batch is half applied).
// Readers check the flag once per read section: off, they load the cells
// directly; on, they retry the read until the sequence number is even and
// unchanged around it. So no reader ever observes a half-applied batch, and
// outside windows a read costs a few loads.
//
// Cells are atomic.Uint64 values so that reads concurrent with in-place
// writes are not data races under the Go memory model; on amd64 an atomic
// load is a plain MOV.
package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

// Width is the number of cells in a row.
const Width = 4

// Row is the value of one row.
type Row [Width]uint64

// barrier is the stm advice: the seqlock check on reads.
var barrier *dflag.Flag = phase.Kind(phase.STM).Opt("table_read_barrier", "seqlock check on examples/stm table reads, needed only while a batch is applied")

// Test hooks, nil outside tests.
var (
	skipGrace  bool   // switch the barrier on without a grace period
	afterCheck func() // in ReadRows' fast path, between the flag check and the loads
	midBatch   func() // in Apply, after half of the batch's rows are written
)

// Table is a table of rows updated in place by batches. It is safe for
// concurrent use by one or more writers and by readers obtained from
// [Table.NewReader].
type Table struct {
	_    [64]byte
	seq  atomic.Uint64 // seqlock: odd while a batch is being applied
	_    [56]byte
	mu   sync.Mutex // serialises batches
	rows int
	cell []atomic.Uint64
}

// New returns a table of rows rows, all zero.
func New(rows int) *Table {
	return &Table{rows: rows, cell: make([]atomic.Uint64, rows*Width)}
}

// Len returns the number of rows.
func (t *Table) Len() int { return t.rows }

// Update sets one row.
type Update struct {
	Row   int
	Value Row
}

// Apply writes the batch in place, inside an stm window: readers see either
// none of it or all of it. Batches are serialised. Apply must not be
// called by a goroutine whose own Reader is online.
func (t *Table) Apply(batch []Update) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var exit func()
	if skipGrace {
		exit = phase.Kind(phase.STM).Activate() // the bug the tests catch
	} else {
		exit = phase.Enter(phase.STM).Exit
	}
	defer exit()
	t.seq.Add(1) // odd: readers with the barrier retry
	for i, u := range batch {
		if i == len(batch)/2 && midBatch != nil {
			midBatch()
		}
		c := t.cell[u.Row*Width : u.Row*Width+Width]
		for j := range c {
			c[j].Store(u.Value[j])
		}
	}
	t.seq.Add(1) // even: the batch is complete
}

// Reader reads a table from one goroutine. It is a phase reader: each
// Read or ReadRows is a read section, the goroutine calls
// [Reader.Quiescent] between read sections (after each, or every few), puts
// the reader offline ([Reader.Offline]) before it blocks, and closes it
// when done.
type Reader struct {
	t    *Table
	cell []atomic.Uint64 // t.cell
	r    *phase.Reader
}

// NewReader registers a reader of t for the calling goroutine.
func (t *Table) NewReader() *Reader {
	return &Reader{t: t, cell: t.cell, r: phase.Register()}
}

// Read returns row i, in a read section of its own: outside stm windows it
// is a few loads; inside, a seqlock read. The caller announces quiescent
// states with [Reader.Quiescent] between read sections.
func (rd *Reader) Read(i int) Row {
	c := rd.cell[i*Width : i*Width+Width : i*Width+Width]
	if barrier.On() {
		return rd.readSlow(c)
	}
	return Row{c[0].Load(), c[1].Load(), c[2].Load(), c[3].Load()}
}

// readSlow is Read with the barrier on, kept out of line so that Read's
// fast path stays short.
//
//go:noinline
func (rd *Reader) readSlow(c []atomic.Uint64) Row {
	var v Row
	rd.t.readBarrier(c, v[:])
	return v
}

// ReadRows copies len(dst) consecutive rows starting at row lo into dst,
// in one read section: they all come from the same state of the table.
func (rd *Reader) ReadRows(dst []Row, lo int) {
	if len(dst) > 0 {
		rd.readRows(dst, rd.cell[lo*Width:(lo+len(dst))*Width])
	}
}

// readRows is ReadRows on the cells c of the rows.
func (rd *Reader) readRows(dst []Row, c []atomic.Uint64) {
	out := unsafe.Slice(&dst[0][0], len(dst)*Width)
	if barrier.On() {
		rd.t.readBarrier(c, out)
		return
	}
	if afterCheck != nil {
		afterCheck()
	}
	load(c, out)
}

// Quiescent announces that the reader's goroutine is between read
// sections: it holds no row it read before. Call it after every read
// section or every few; it costs about a nanosecond.
func (rd *Reader) Quiescent() { rd.r.Quiescent() }

// load copies the cells c into dst.
func load(c []atomic.Uint64, dst []uint64) {
	c = c[:len(dst)]
	for i := range dst {
		dst[i] = c[i].Load()
	}
}

// readBarrier copies the cells c into dst at one even sequence number.
func (t *Table) readBarrier(c []atomic.Uint64, dst []uint64) {
	for {
		s := t.seq.Load()
		if s&1 != 0 {
			runtime.Gosched() // a batch is being applied
			continue
		}
		load(c, dst)
		if t.seq.Load() == s {
			return
		}
	}
}

// Offline puts the reader offline before its goroutine blocks.
func (rd *Reader) Offline() { rd.r.Offline() }

// Online puts the reader back online after Offline.
func (rd *Reader) Online() { rd.r.Online() }

// Close unregisters the reader.
func (rd *Reader) Close() { rd.r.Close() }
