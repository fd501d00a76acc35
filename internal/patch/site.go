package patch

import (
	"errors"
	"sync/atomic"
)

// The reasons why sites cannot be found or patched. Errors returned by this
// package wrap one of them (test with errors.Is) and add the details.
var (
	// ErrUnsupported: the engine has no instruction set for the
	// platform (it patches linux/amd64).
	ErrUnsupported = errors.New("unsupported platform")
	// ErrMprotect: the kernel refused to make text writable (SELinux
	// execmem/execmod, PaX MPROTECT, a seccomp filter).
	ErrMprotect = errors.New("mprotect refused")
	// ErrTextNotFound: the text of the module the engine is linked into
	// (the executable, or the library under -buildmode=c-shared) could
	// not be located in /proc/self/maps, or the function is not in it
	// (it is in a plugin or another shared library).
	ErrTextNotFound = errors.New("text not found")
	// ErrNoCallSites: no direct call to the function exists; the compiler
	// probably inlined every call (mark the function //go:noinline).
	ErrNoCallSites = errors.New("function inlined: no call sites")
	// ErrNotSite: Apply was asked to write at an address that Find has not
	// verified, or whose bytes no longer hold a call to the target.
	ErrNotSite = errors.New("not a verified call site")
)

// Site is one direct call to a function, as found by [Find].
type Site struct {
	Addr   uintptr // address of the instruction's opcode byte
	Target uintptr // the called function's entry
	Func   string  // the function containing the call (innermost if inlined)
	File   string  // source file of the call, as the binary records it
	Line   int     // source line of the call
	Call   bool    // the site currently executes the call, not the switched-off instruction
}

// Change asks [Apply] to put one site in a state.
type Change struct {
	Addr   uintptr // the site's address, as reported by Find
	Target uintptr // the function the site calls
	Call   bool    // wanted: true for the call, false for the switched-off instruction

	// Set by Apply.
	Calls bool  // the site executes the call after Apply
	Err   error // nil when the site holds the wanted instruction

	write bool // Apply's mark: the byte must change
}

// Stats counts the engine's work since the process started.
type Stats struct {
	Mprotects   uint64 // mprotect system calls (two per run of pages)
	Pages       uint64 // pages made writable, summed over runs
	Bytes       uint64 // bytes stored into code (one per site written on amd64)
	Batches     uint64 // Apply calls that wrote at least one byte
	Membarriers uint64 // membarrier(SYNC_CORE) calls
	// IndexBytes is the memory the index of direct calls keeps: built by
	// the first Find, 8 bytes per direct call in the text, kept for later
	// registrations.
	IndexBytes uint64
}

var stats struct {
	mprotects, pages, bytes, batches, membarriers, indexBytes atomic.Uint64
}

// ReadStats returns the engine's counters.
func ReadStats() Stats {
	return Stats{
		Mprotects:   stats.mprotects.Load(),
		Pages:       stats.pages.Load(),
		Bytes:       stats.bytes.Load(),
		Batches:     stats.batches.Load(),
		Membarriers: stats.membarriers.Load(),
		IndexBytes:  stats.indexBytes.Load(),
	}
}
