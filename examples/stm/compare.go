package stm

import (
	"sync"
	"sync/atomic"
)

// LockedTable is the same table behind a sync.RWMutex, for comparison:
// readers share the lock, batches take it exclusively.
type LockedTable struct {
	mu   sync.RWMutex
	cell []uint64
}

// NewLocked returns a LockedTable of rows rows.
func NewLocked(rows int) *LockedTable {
	return &LockedTable{cell: make([]uint64, rows*Width)}
}

// Read returns row i.
func (t *LockedTable) Read(i int) Row {
	var v Row
	t.mu.RLock()
	copy(v[:], t.cell[i*Width:i*Width+Width])
	t.mu.RUnlock()
	return v
}

// Apply writes the batch under the write lock.
func (t *LockedTable) Apply(batch []Update) {
	t.mu.Lock()
	for _, u := range batch {
		copy(t.cell[u.Row*Width:u.Row*Width+Width], u.Value[:])
	}
	t.mu.Unlock()
}

// COWTable is the same table as an immutable snapshot behind an
// atomic.Pointer, for comparison: reads load the pointer, batches copy the
// whole table and swap it in.
type COWTable struct {
	mu   sync.Mutex // serialises batches
	snap atomic.Pointer[[]uint64]
}

// NewCOW returns a COWTable of rows rows.
func NewCOW(rows int) *COWTable {
	t := &COWTable{}
	cells := make([]uint64, rows*Width)
	t.snap.Store(&cells)
	return t
}

// Read returns row i.
func (t *COWTable) Read(i int) Row {
	var v Row
	copy(v[:], (*t.snap.Load())[i*Width:i*Width+Width])
	return v
}

// Apply copies the table, writes the batch into the copy and publishes it.
func (t *COWTable) Apply(batch []Update) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cells := append([]uint64(nil), *t.snap.Load()...)
	for _, u := range batch {
		copy(cells[u.Row*Width:u.Row*Width+Width], u.Value[:])
	}
	t.snap.Store(&cells)
}
