// Package stm is an example of the stm phase: an in-memory table whose
// batches are applied in place, and whose readers take a lock-free fast
// path, with no read barrier at all, except inside the stm windows that
// surround batches.
//
// A [Table] is a fixed number of rows of [Width] cells. [Table.Apply]
// opens a window with phase.STM.Enter(): that switches the read
// barrier on (a flag of kind stm) and waits until no reader is still in a
// read section that saw it off. Only then does Apply write the cells, inside
// a seqlock (the sequence number is odd while a batch is half applied).
// Readers check the flag once per read section: off, they copy the cells
// directly; on, they retry the read until the sequence number is even and
// unchanged around it. So no reader ever observes a half-applied batch, and
// outside windows [Reader.Read] inlines to a flag check and a copy.
//
// Batches store cells atomically and readers with the barrier load them
// atomically, since those run concurrently; readers outside windows use
// plain loads, which the grace period keeps apart from every batch (the
// race detector agrees: the stress tests run clean under -race, and report
// the race once the grace period is removed).
//
// [PlainTable], [SeqlockTable], [LockedTable] and [COWTable] hold the same
// rows without phases, as baselines for the benchmarks.
package stm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

// Width is the number of cells in a row.
const Width = 4

// Row is the value of one row.
type Row [Width]uint64

// stm is the phase of the table's batches.
var stm = phase.STM

// barrier is the stm advice: the seqlock check on reads.
var barrier *dflag.Flag = stm.Kind().Opt("table_read_barrier", "seqlock check on examples/stm table reads, needed only while a batch is applied")

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
	rows []cells
}

// cells is one row of the table. Batches store its words atomically and
// readers with the barrier load them atomically, since the two may run
// concurrently; readers outside windows copy it with plain loads.
type cells [Width]uint64

// load returns the row with atomic loads.
func (c *cells) load() Row {
	return Row{atomic.LoadUint64(&c[0]), atomic.LoadUint64(&c[1]), atomic.LoadUint64(&c[2]), atomic.LoadUint64(&c[3])}
}

// store sets the row with atomic stores.
func (c *cells) store(v *Row) {
	for j := range c {
		atomic.StoreUint64(&c[j], v[j])
	}
}

// New returns a table of rows rows, all zero.
func New(rows int) *Table {
	return &Table{rows: make([]cells, rows)}
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.rows) }

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
	if skipGrace {
		release := stm.Kind().Activate() // the bug the tests catch
		defer release()
		t.write(batch)
		return
	}
	stm.Do(func() { t.write(batch) })
}

// write writes the batch inside the seqlock.
func (t *Table) write(batch []Update) {
	t.seq.Add(1) // odd: readers with the barrier retry
	for i := range batch {
		if i == len(batch)/2 && midBatch != nil {
			midBatch()
		}
		t.rows[batch[i].Row].store(&batch[i].Value)
	}
	t.seq.Add(1) // even: the batch is complete
}

// Reader reads a table from one goroutine. It is a phase reader
// (phase.Register): each Read or ReadRows is a read section of its own,
// and since both return copies, the goroutine holds no reference into the
// table between them.
//
// A Read or ReadRows that finds the barrier on announces a quiescent state
// before it reads (it is between read sections, and it will use the
// barrier), so a goroutine that reads continuously never delays a batch and
// need not call [Reader.Quiescent]. A goroutine that stops reading for a
// while (between requests, say) calls Quiescent, or [Reader.Offline] before
// it blocks, so that the next batch does not wait for it; and it closes the
// reader when done.
type Reader struct {
	rows []cells // t.rows, first so that Read indexes it without an offset
	t    *Table
	r    *phase.Reader
}

// NewReader registers a reader of t for the calling goroutine.
func (t *Table) NewReader() *Reader {
	return &Reader{rows: t.rows, t: t, r: phase.Register()}
}

// Read returns row i, in a read section of its own. Outside stm windows it
// inlines to a flag check and a copy of the row's four cells; inside, it
// calls the out-of-line seqlock read. It panics if i is out of range.
//
// The copy is made of plain loads: no batch writes while a reader that saw
// the barrier off is in its read section (that is what the window's grace
// period ensures), so they race with nothing.
func (rd *Reader) Read(i int) Row {
	if barrier.On() {
		return rd.readSlow(i)
	}
	return Row(rd.rows[i])
}

// readSlow is Read with the barrier on, out of line so that Read inlines.
// The reader is between read sections and reads with the barrier from here
// on, so it first announces a quiescent state for a batch that may be
// waiting for it.
//
//go:noinline
func (rd *Reader) readSlow(i int) Row {
	c := &rd.rows[i]
	rd.r.Quiescent()
	for {
		s := rd.t.seq.Load()
		if s&1 == 0 {
			v := c.load()
			if rd.t.seq.Load() == s {
				return v
			}
			continue
		}
		runtime.Gosched() // a batch is being applied
	}
}

// ReadRows copies len(dst) consecutive rows starting at row lo into dst,
// in one read section: they all come from the same state of the table.
func (rd *Reader) ReadRows(dst []Row, lo int) {
	if len(dst) > 0 {
		rd.readRows(dst, rd.rows[lo:lo+len(dst)])
	}
}

// readRows is ReadRows on the rows c.
func (rd *Reader) readRows(dst []Row, c []cells) {
	if barrier.On() {
		rd.r.Quiescent()
		rd.t.readBarrier(c, dst)
		return
	}
	if afterCheck != nil {
		afterCheck()
	}
	load(c, dst)
}

// Quiescent announces that the reader's goroutine is between read
// sections. A goroutine that reads continuously need not call it (see
// [Reader]); one that pauses calls it first. It costs two loads when no
// batch is waiting.
func (rd *Reader) Quiescent() { rd.r.Quiescent() }

// load copies the rows c into dst.
func load(c []cells, dst []Row) {
	c = c[:len(dst)]
	for i := range dst {
		dst[i] = c[i].load()
	}
}

// readBarrier copies the rows c into dst at one even sequence number.
func (t *Table) readBarrier(c []cells, dst []Row) {
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
