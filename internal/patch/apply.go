//go:build linux

package patch

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

var pageSize = uintptr(unix.Getpagesize())

// errEarlier marks the switch-offs that an Apply did not attempt because an
// earlier run of pages failed.
var errEarlier = errors.New("not attempted after an earlier run of pages in the same Apply failed; the site keeps calling")

// apply implements Apply.
//
// Every write goes through one lock. Before each write apply re-checks
// that the site is one Find returned for the change's target and that it
// holds one of its two encodings; it writes only where the site differs
// from the wanted encoding. The sites are grouped into runs of
// neighbouring pages, each made writable with one
// mprotect(PROT_READ|PROT_WRITE|PROT_EXEC) and restored with one
// mprotect(PROT_READ|PROT_EXEC). The downgrade shoots down the pages' TLB
// entries on every CPU running the process, an interrupt that serialises
// those CPUs; apply then runs the ISA's cache maintenance and calls
// membarrier(PRIVATE_EXPEDITED_SYNC_CORE) when the kernel supports it.
//
// Failures never leave a call off that was asked to run. Restoring a call
// (the always-safe direction) is always attempted, even after the kernel
// refused an mprotect; switching calls off is refused once the engine is
// broken, and, after a run of pages fails, for the rest of the Apply.
// Each change's Calls says what its site executes when apply returns.
func (e *engine) apply(changes []Change) (written int, err error) {
	slices.SortStableFunc(changes, func(a, b Change) int { return cmp.Compare(a.Addr, b.Addr) })
	ranges, err := e.text()
	if err != nil {
		for i := range changes {
			changes[i].Err = err
			changes[i].Calls = true // Find never verified a site: none was written
		}
		return 0, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()

	// Verify everything and mark the sites that need a write.
	var firstErr error
	for i := range changes {
		c := &changes[i]
		c.write = false
		st, err := e.check(ranges, c.Addr, c.Target)
		c.Calls, c.Err = st == stateCall, err
		switch {
		case err != nil:
			if st == stateNone {
				c.Calls = e.callsAnyway(c.Addr, ranges)
			}
			firstErr = cmp.Or(firstErr, err)
		case st == want(c.Call):
			// Never write a site that already holds the encoding.
		case !c.Call && e.broken != nil:
			c.Err = e.broken
			firstErr = cmp.Or(firstErr, e.broken)
		default:
			c.write = true
		}
	}

	// One mprotect pair per run of neighbouring pages.
	for i := 0; i < len(changes); {
		if !changes[i].write {
			i++
			continue
		}
		// The stores never straddle pages: a byte on amd64, an aligned
		// word on arm64.
		first := changes[i].Addr / pageSize
		last, j := first, i+1
		for ; j < len(changes); j++ {
			if !changes[j].write {
				continue
			}
			p := changes[j].Addr / pageSize
			if p > last+1 {
				break
			}
			last = p
		}
		w, err := e.writeRun(ranges, changes[i:j], first, last)
		written += w
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			// After a failed run only restoring calls is attempted.
			for k := j; k < len(changes); k++ {
				if c := &changes[k]; c.write && !c.Call {
					c.write, c.Err = false, fmt.Errorf("%w: %w", errEarlier, err)
				}
			}
		}
		i = j
	}
	if written > 0 {
		stats.batches.Add(1)
		if syncCore() {
			membarrier(membarrierPrivateExpeditedSyncCore)
			stats.membarriers.Add(1)
		}
	}
	return written, firstErr
}

func want(call bool) int {
	if call {
		return stateCall
	}
	return stateOff
}

// check verifies, with e.mu held, that addr is a site Find confirmed for
// target and still holds one of its encodings, and returns which.
func (e *engine) check(ranges []textRange, addr, target uintptr) (int, error) {
	n := uintptr(e.isa.siteLen())
	if _, ok := rangeOf(ranges, addr, n); !ok {
		return stateNone, fmt.Errorf("%w: %#x is outside the text the engine patches", ErrNotSite, addr)
	}
	s := e.verified[addr]
	if s == nil || s.target != target {
		return stateNone, fmt.Errorf("%w: %#x was not returned by Find for %#x", ErrNotSite, addr, target)
	}
	st := e.state(addr)
	if st == stateNone {
		return stateNone, fmt.Errorf("%w: %#x holds % x, neither the call to %#x nor its switched-off form", ErrNotSite, addr, mem(addr, n), target)
	}
	return st, nil
}

// callsAnyway reports, for an address apply refused, whether it holds a
// call: what the code there does. e.mu is held.
func (e *engine) callsAnyway(addr uintptr, ranges []textRange) bool {
	n := uintptr(e.isa.siteLen())
	if _, ok := rangeOf(ranges, addr, n); !ok {
		return true // not code the engine writes: it never changed
	}
	if e.verified[addr] != nil {
		return e.state(addr) == stateCall
	}
	_, ok := e.isa.callTarget(mem(addr, n), addr)
	return ok
}

// writeRun makes pages [first, last] writable, writes the sites of the
// changes marked for writing, and restores the pages. e.mu is held.
func (e *engine) writeRun(ranges []textRange, changes []Change, first, last uintptr) (written int, err error) {
	pages := mem(first*pageSize, (last-first+1)*pageSize)
	stats.mprotects.Add(1)
	if err := unix.Mprotect(pages, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		err = fmt.Errorf("%w: making %d page(s) at %#x writable: %w (SELinux execmem/execmod, PaX MPROTECT or a seccomp filter forbids writable code); the sites keep their instructions", ErrMprotect, last-first+1, first*pageSize, err)
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			e.broken = err
		}
		for i := range changes {
			if changes[i].write {
				changes[i].Err = err
			}
		}
		return 0, err
	}
	stats.pages.Add(uint64(last - first + 1))
	n := uintptr(e.isa.siteLen())
	var addrs []uintptr
	for i := range changes {
		c := &changes[i]
		if !c.write {
			continue
		}
		// Re-check under the lock, right before the write.
		st, cerr := e.check(ranges, c.Addr, c.Target)
		if cerr != nil {
			c.Calls, c.Err = e.callsAnyway(c.Addr, ranges), cerr
			err = cmp.Or(err, cerr)
			continue
		}
		if st != want(c.Call) {
			s := e.verified[c.Addr]
			from, to := s.call[:n], s.off[:n]
			if c.Call {
				from, to = to, from
			}
			stats.bytes.Add(uint64(e.isa.write(c.Addr, from, to)))
			addrs = append(addrs, c.Addr)
			written++
		}
		c.Calls = c.Call
	}
	e.isa.flush(addrs)
	stats.mprotects.Add(1)
	if rerr := unix.Mprotect(pages, unix.PROT_READ|unix.PROT_EXEC); rerr != nil {
		// The sites are written and still executable, but the text stays
		// writable: switch nothing off any more.
		e.broken = fmt.Errorf("%w: restoring %d page(s) at %#x to r-x: %w; the page(s) stay writable and calls are no longer switched off", ErrMprotect, last-first+1, first*pageSize, rerr)
		return written, e.broken
	}
	return written, err
}

// membarrier(2) commands (linux/membarrier.h).
const (
	membarrierQuery                            = 0
	membarrierPrivateExpeditedSyncCore         = 1 << 5
	membarrierRegisterPrivateExpeditedSyncCore = 1 << 6
)

func membarrier(cmd uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_MEMBARRIER, cmd, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// syncCore registers the process for membarrier SYNC_CORE once and reports
// whether it can be used. Without it, on amd64, the mprotect downgrade's
// TLB shootdown is the barrier.
var syncCore = sync.OnceValue(func() bool {
	r, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierQuery, 0, 0)
	const need = membarrierPrivateExpeditedSyncCore | membarrierRegisterPrivateExpeditedSyncCore
	if e != 0 || r&need != need {
		return false
	}
	return membarrier(membarrierRegisterPrivateExpeditedSyncCore) == nil
})
