package stm

import (
	"sync"
	"sync/atomic"
)

// The comparison tables below hold the same rows as [Table] and read them
// as cheaply as their synchronisation allows: their Read methods inline
// (except LockedTable's, which sync.RWMutex's lock and unlock make too
// large), so that benchmarks compare mechanisms, not calling conventions.

// PlainTable is the same table with no synchronisation at all: Read is a
// plain copy of the row. It is not safe to apply batches concurrently with
// reads; it is the floor that the other tables' reads are measured
// against.
type PlainTable struct {
	rows []cells
}

// NewPlain returns a PlainTable of rows rows.
func NewPlain(rows int) *PlainTable { return &PlainTable{rows: make([]cells, rows)} }

// Read returns row i.
func (t *PlainTable) Read(i int) Row { return Row(t.rows[i]) }

// Apply writes the batch; it must not run concurrently with Read.
func (t *PlainTable) Apply(batch []Update) {
	for _, u := range batch {
		t.rows[u.Row] = cells(u.Value)
	}
}

// SeqlockTable is the same table behind a plain seqlock, without phases:
// every read loads the sequence number before and after the row (atomic
// loads, since a batch may be writing), and retries while a batch is being
// applied; batches are serialised by a mutex and make the sequence number
// odd while they write.
type SeqlockTable struct {
	_    [64]byte
	seq  atomic.Uint64
	_    [56]byte
	mu   sync.Mutex
	rows []cells
}

// NewSeqlock returns a SeqlockTable of rows rows.
func NewSeqlock(rows int) *SeqlockTable { return &SeqlockTable{rows: make([]cells, rows)} }

// Read returns row i, spinning while a batch is being applied.
func (t *SeqlockTable) Read(i int) Row {
	c := &t.rows[i]
	for {
		s := t.seq.Load()
		v := c.load()
		if s&1 == 0 && t.seq.Load() == s {
			return v
		}
	}
}

// Apply writes the batch inside the seqlock.
func (t *SeqlockTable) Apply(batch []Update) {
	t.mu.Lock()
	t.seq.Add(1)
	for _, u := range batch {
		t.rows[u.Row].store(&u.Value)
	}
	t.seq.Add(1)
	t.mu.Unlock()
}

// LockedTable is the same table behind a sync.RWMutex, for comparison:
// readers share the lock, batches take it exclusively.
type LockedTable struct {
	mu   sync.RWMutex
	rows []cells
}

// NewLocked returns a LockedTable of rows rows.
func NewLocked(rows int) *LockedTable {
	return &LockedTable{rows: make([]cells, rows)}
}

// Read returns row i.
func (t *LockedTable) Read(i int) Row {
	t.mu.RLock()
	v := Row(t.rows[i])
	t.mu.RUnlock()
	return v
}

// Apply writes the batch under the write lock.
func (t *LockedTable) Apply(batch []Update) {
	t.mu.Lock()
	for _, u := range batch {
		t.rows[u.Row] = cells(u.Value)
	}
	t.mu.Unlock()
}

// COWTable is the same table as an immutable snapshot behind an
// atomic.Pointer, for comparison: reads load the pointer, batches copy the
// whole table and swap it in.
type COWTable struct {
	mu   sync.Mutex // serialises batches
	snap atomic.Pointer[[]cells]
}

// NewCOW returns a COWTable of rows rows.
func NewCOW(rows int) *COWTable {
	t := &COWTable{}
	rs := make([]cells, rows)
	t.snap.Store(&rs)
	return t
}

// Read returns row i.
func (t *COWTable) Read(i int) Row {
	return Row((*t.snap.Load())[i])
}

// Apply copies the table, writes the batch into the copy and publishes it.
func (t *COWTable) Apply(batch []Update) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs := append([]cells(nil), *t.snap.Load()...)
	for _, u := range batch {
		rs[u.Row] = cells(u.Value)
	}
	t.snap.Store(&rs)
}
