//go:build linux

package patch

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// engine is the Linux mechanism, parameterised by an instruction set.
// The process has one, std; its state is the code itself plus the sites
// Find verified and whether the kernel refused to make code writable.
type engine struct {
	isa  isa
	text func() ([]textRange, error) // the text, located once

	// mu serialises every code write and guards the fields below.
	mu sync.Mutex
	// verified maps each site that Find confirmed to its two encodings.
	// Apply writes nowhere else.
	verified map[uintptr]*site
	// sitesOf lists the verified sites of each target, for Find to look
	// up the switched-off ones, which the index of calls does not hold.
	sitesOf map[uintptr][]uintptr
	// broken is set once the kernel refused an mprotect for good; Status
	// returns it and Apply switches no call off after it.
	broken error
	// index holds every direct call in the text, built by the first Find.
	index *callIndex
}

// site is a verified call site: its target and its two encodings.
type site struct {
	target    uintptr
	call, off [maxSite]byte
}

func newEngine(arch isa) *engine {
	return &engine{isa: arch, text: sync.OnceValues(locateText), verified: map[uintptr]*site{}, sitesOf: map[uintptr][]uintptr{}}
}

// std is the process's engine.
var std = newEngine(arch)

func unsupported() error {
	return fmt.Errorf("%w: %s/%s: call sites are patched only on linux/amd64 and linux/arm64; they keep calling", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// Find returns every direct call to the function whose entry is target,
// sorted by address. target is a function value's code pointer, as
// reflect.ValueOf(fn).Pointer() returns for a top-level function. The
// sites are remembered: [Apply] writes only to sites that Find returned.
func Find(target uintptr) ([]Site, error) {
	if std.isa == nil {
		return nil, unsupported()
	}
	return std.find(target)
}

// Apply puts each site in the state its Change asks for and sets the
// change's Calls and Err. It sorts changes by address (stably) in place.
// See engine.apply for the protocol.
func Apply(changes []Change) (written int, err error) {
	if std.isa == nil {
		err := unsupported()
		for i := range changes {
			changes[i].Calls, changes[i].Err = true, err
		}
		return 0, err
	}
	return std.apply(changes)
}

// Status reports whether this process can patch call sites: nil once the
// engine has found, switched off and on again, and executed a call site of
// its own (the first call does that; later calls return its result), and
// the kernel has not refused an mprotect since. The error wraps
// ErrUnsupported, ErrTextNotFound, ErrMprotect or ErrNoCallSites.
func Status() error {
	if std.isa == nil {
		return unsupported()
	}
	std.mu.Lock()
	b := std.broken
	std.mu.Unlock()
	if b != nil {
		return b
	}
	return selfTestResult()
}

// pointer converts an address in text to a pointer (the double
// indirection keeps vet's unsafeptr check quiet about a deliberate use).
func pointer(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }

// mem returns the n bytes of text at addr.
func mem(addr, n uintptr) []byte { return unsafe.Slice((*byte)(pointer(addr)), n) }

func funcName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return fmt.Sprintf("the function at %#x", pc)
}

func (e *engine) find(target uintptr) ([]Site, error) {
	ranges, err := e.text()
	if err != nil {
		return nil, err
	}
	if _, ok := rangeOf(ranges, target, 1); !ok {
		return nil, fmt.Errorf("%w: %s (entry %#x) is in %s, another module than %s, the one the engine is linked into and the only one whose text it scans and patches (a plugin's code is not; calls between modules go through the PLT or function values, never a direct call)", ErrTextNotFound, funcName(target), target, moduleOf(target), moduleOf(self))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.index == nil {
		e.index = buildIndex(e.isa, ranges)
		stats.indexBytes.Store(uint64(cap(e.index.calls)) * 8)
	}
	var sites []Site
	var refused []RefusedCall
	refuse := func(addrs []uintptr, reason string) {
		for _, addr := range addrs {
			c := RefusedCall{Addr: addr, Reason: reason}
			if f := runtime.FuncForPC(addr); f != nil {
				c.Func = f.Name()
				c.File, c.Line = f.FileLine(addr)
			}
			refused = append(refused, c)
		}
	}
	for _, r := range ranges {
		cands := e.candidates(r, target)
		for len(cands) > 0 {
			// Candidates are sorted and functions are contiguous, so the
			// candidates of one function are neighbours.
			f := runtime.FuncForPC(cands[0])
			if f == nil {
				refuse(cands[:1], "not inside a Go function (C code, or a byte pattern outside any function)")
				cands = cands[1:]
				continue
			}
			entry := f.Entry()
			end := funcEnd(r, entry)
			n := 1
			for n < len(cands) && cands[n] < end {
				n++
			}
			group := cands[:n]
			cands = cands[n:]
			if file, _ := f.FileLine(entry); strings.HasSuffix(file, ".s") {
				// Compiled Go keeps no data in its text and the walk
				// from the entry is exact; assembly may hold anything.
				refuse(group, fmt.Sprintf("in %s, hand-written assembly, which the engine does not trust itself to decode", f.Name()))
				continue
			}
			addrs, err := e.confirm(r, entry, end, group, target)
			if err != nil {
				refuse(group, fmt.Sprintf("in %s, which the decoder cannot walk from its entry to its end: %v", f.Name(), err))
				continue
			}
			for _, addr := range addrs {
				sites = append(sites, e.describe(addr, target))
			}
		}
	}
	if len(refused) > 0 {
		return sites, &RefusedError{Target: funcName(target), Calls: refused, none: len(sites) == 0}
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("%w: no direct call to %s in the executable: the compiler inlined every call (add //go:noinline), or it is only called through a function value (go %[2]s() and defer %[2]s() without arguments, a func variable) or from assembly, which are not call sites", ErrNoCallSites, funcName(target))
	}
	return sites, nil
}

// candidates returns the addresses in r of direct calls to target, and of
// sites of target that Find verified earlier and that are switched off,
// in increasing order. e.mu is held.
func (e *engine) candidates(r textRange, target uintptr) []uintptr {
	var cands []uintptr
	for _, addr := range e.index.lookup(target) {
		if r.contains(addr, 1) {
			cands = append(cands, addr)
		}
	}
	n := uintptr(e.isa.siteLen())
	for _, addr := range e.sitesOf[target] {
		if s := e.verified[addr]; r.contains(addr, n) && bytes.Equal(mem(addr, n), s.off[:n]) {
			cands = append(cands, addr)
		}
	}
	slices.Sort(cands)
	return cands
}

// describe reports the site at addr, which Find confirmed.
func (e *engine) describe(addr, target uintptr) Site {
	s := Site{Addr: addr, Target: target, Call: e.state(addr) == stateCall}
	if f := runtime.FuncForPC(addr); f != nil {
		s.Func = f.Name()
		// FileLine wants a PC inside the instruction: addr is its
		// first byte.
		s.File, s.Line = f.FileLine(addr)
	}
	if s.File == "<autogenerated>" {
		s.Wrapper = s.Func
		if f := runtime.FuncForPC(target); f != nil {
			s.File, s.Line = f.FileLine(target)
		}
	}
	return s
}

// funcEnd returns the end of the function starting at entry: the first
// address after it that runtime.FuncForPC attributes to another function
// or to none (including the padding after it, which belongs to it).
func funcEnd(r textRange, entry uintptr) uintptr {
	inside := func(pc uintptr) bool {
		f := runtime.FuncForPC(pc)
		return f != nil && f.Entry() == entry
	}
	// Exponential then binary search: a function is one contiguous range.
	lo, step := entry, uintptr(64) // lo is inside
	hi := lo + step
	for hi < r.hi && inside(hi) {
		lo, step = hi, step*2
		hi = lo + step
	}
	hi = min(hi, r.hi)
	for hi-lo > 1 { // lo inside, hi outside (or the end of text)
		mid := lo + (hi-lo)/2
		if inside(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// confirm decodes the function [entry, end) from its entry to its end and
// returns the candidates the decoder lands on exactly and that hold a call
// to target (or the switched-off encoding of a site verified earlier),
// after recording them in e.verified. If the decoder fails anywhere in the
// function, or does not end exactly at its end, it returns an error and
// records nothing: a decoder out of sync may land on bytes inside another
// instruction. e.mu is held.
func (e *engine) confirm(r textRange, entry, end uintptr, cands []uintptr, target uintptr) ([]uintptr, error) {
	var ok []uintptr
	n := e.isa.siteLen()
	code := mem(entry, min(end, r.hi)-entry)
	pc := 0
	for pc < len(code) {
		l, err := e.isa.instLen(code[pc:])
		if err != nil {
			return nil, fmt.Errorf("at %s+%#x: %w", funcName(entry), pc, err)
		}
		addr := entry + uintptr(pc)
		for len(cands) > 0 && cands[0] < addr {
			cands = cands[1:] // inside an instruction: not a site
		}
		if len(cands) > 0 && cands[0] == addr {
			cands = cands[1:]
			if l == n && pc+n <= len(code) && e.isSite(addr, target, code[pc:pc+n]) {
				ok = append(ok, addr)
			}
		}
		pc += l
	}
	if pc != len(code) {
		return nil, fmt.Errorf("the last instruction ends %d bytes past the function's end", pc-len(code))
	}
	for _, addr := range ok {
		e.record(addr, target, mem(addr, uintptr(n)))
	}
	return ok, nil
}

// isSite reports whether b, the bytes of the instruction at addr, are a
// call to target or the switched-off encoding of a site of target verified
// earlier. e.mu is held.
func (e *engine) isSite(addr, target uintptr, b []byte) bool {
	n := e.isa.siteLen()
	if s := e.verified[addr]; s != nil {
		return s.target == target && (bytes.Equal(b, s.call[:n]) || bytes.Equal(b, s.off[:n]))
	}
	t, ok := e.isa.callTarget(b, addr)
	return ok && t == target
}

// record remembers the site at addr, which isSite accepted, with its two
// encodings. e.mu is held.
func (e *engine) record(addr, target uintptr, b []byte) {
	if e.verified[addr] != nil {
		return
	}
	n := e.isa.siteLen()
	s := &site{target: target}
	copy(s.call[:], b)
	e.isa.off(s.off[:n], b)
	e.verified[addr] = s
	e.sitesOf[target] = append(e.sitesOf[target], addr)
}

// What a verified site holds.
const (
	stateNone = iota // neither encoding: not a site any more
	stateCall
	stateOff
)

// state returns what the verified site at addr holds. e.mu is held.
func (e *engine) state(addr uintptr) int {
	s := e.verified[addr]
	if s == nil {
		return stateNone
	}
	n := uintptr(e.isa.siteLen())
	switch b := mem(addr, n); {
	case bytes.Equal(b, s.call[:n]):
		return stateCall
	case bytes.Equal(b, s.off[:n]):
		return stateOff
	}
	return stateNone
}
