//go:build linux && amd64

package patch

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/arch/x86/x86asm"
	"golang.org/x/sys/unix"
)

const (
	opCall  = 0xE8 // CALL rel32
	opTest  = 0xA9 // TEST EAX, imm32
	siteLen = 5    // both instructions: opcode + 4 bytes
)

// mu serialises every code write and guards verified and broken.
var mu sync.Mutex

var (
	// verified maps each site that Find confirmed to its target. Apply
	// writes nowhere else.
	verified = map[uintptr]uintptr{}
	// broken is set once the kernel refused an mprotect for good; Status
	// returns it and Apply writes nothing after it.
	broken error
)

// textRange is a run of adjacent executable mappings of the executable.
type textRange struct{ lo, hi uintptr }

func (r textRange) contains(addr, n uintptr) bool { return r.lo <= addr && addr+n <= r.hi }

// text locates the executable's text once: the r-x mappings of
// /proc/self/exe in /proc/self/maps, adjacent mappings merged.
var text = sync.OnceValues(func() ([]textRange, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTextNotFound, err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	var st unix.Stat_t
	haveStat := unix.Stat("/proc/self/exe", &st) == nil
	ranges := parseMaps(maps, func(dev, inode, path string) bool {
		if exe != "" && (path == exe || path == exe+" (deleted)") {
			return true
		}
		if !haveStat || inode != strconv.FormatUint(st.Ino, 10) {
			return false
		}
		maj, mnr, ok := strings.Cut(dev, ":")
		if !ok {
			return false
		}
		a, err1 := strconv.ParseUint(maj, 16, 32)
		b, err2 := strconv.ParseUint(mnr, 16, 32)
		return err1 == nil && err2 == nil && uint32(a) == unix.Major(st.Dev) && uint32(b) == unix.Minor(st.Dev)
	})
	if len(ranges) == 0 {
		return nil, fmt.Errorf("%w: no executable mapping of %s in /proc/self/maps", ErrTextNotFound, cmp.Or(exe, "/proc/self/exe"))
	}
	return ranges, nil
})

// parseMaps returns the executable mappings that isExe accepts, sorted and
// with adjacent mappings merged.
func parseMaps(maps []byte, isExe func(dev, inode, path string) bool) []textRange {
	var ranges []textRange
	for line := range bytes.Lines(maps) {
		// lo-hi perms offset dev inode [path]; the path may hold spaces.
		f := strings.Fields(string(line))
		if len(f) < 6 || len(f[1]) < 3 || f[1][0] != 'r' || f[1][2] != 'x' {
			continue
		}
		path := strings.TrimSpace(string(line))
		for range 5 {
			_, path, _ = strings.Cut(path, " ")
			path = strings.TrimLeft(path, " ")
		}
		if !isExe(f[3], f[4], path) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || l >= h {
			continue
		}
		ranges = append(ranges, textRange{uintptr(l), uintptr(h)})
	}
	slices.SortFunc(ranges, func(a, b textRange) int { return cmp.Compare(a.lo, b.lo) })
	var merged []textRange
	for _, r := range ranges {
		if n := len(merged); n > 0 && merged[n-1].hi >= r.lo {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// pointer converts an address in text to a pointer (the double
// indirection keeps vet's unsafeptr check quiet about a deliberate use).
func pointer(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }

// mem returns the n bytes of text at addr.
func mem(addr, n uintptr) []byte { return unsafe.Slice((*byte)(pointer(addr)), n) }

// callsTo reports whether the rel32 of the 5-byte instruction at addr
// targets target.
func callsTo(addr, target uintptr) bool {
	rel := int32(binary.LittleEndian.Uint32(mem(addr+1, 4)))
	return addr+siteLen+uintptr(int64(rel)) == target
}

func rangeOf(ranges []textRange, addr, n uintptr) (textRange, bool) {
	for _, r := range ranges {
		if r.contains(addr, n) {
			return r, true
		}
	}
	return textRange{}, false
}

// Find returns every direct call to the function whose entry is target,
// sorted by address. target is a function value's code pointer, as
// reflect.ValueOf(fn).Pointer() returns for a top-level function. The
// sites are remembered: [Apply] writes only to sites that Find returned.
func Find(target uintptr) ([]Site, error) {
	ranges, err := text()
	if err != nil {
		return nil, err
	}
	if _, ok := rangeOf(ranges, target, 1); !ok {
		return nil, fmt.Errorf("%w: function entry %#x is not in the executable's text (a plugin or a shared library?)", ErrTextNotFound, target)
	}
	mu.Lock()
	defer mu.Unlock()
	var sites []Site
	for _, r := range ranges {
		cands := scan(r, target)
		for len(cands) > 0 {
			// Candidates are sorted and functions are contiguous, so the
			// candidates of one function are neighbours.
			f := runtime.FuncForPC(cands[0])
			if f == nil {
				cands = cands[1:]
				continue
			}
			entry := f.Entry()
			end := funcEnd(r, entry)
			n := 1
			for n < len(cands) && cands[n] < end {
				n++
			}
			for _, addr := range confirm(r, entry, end, cands[:n], target) {
				sites = append(sites, describe(addr, target))
				verified[addr] = target
			}
			cands = cands[n:]
		}
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("%w: no direct call to %s in the executable: it was probably inlined everywhere; add //go:noinline", ErrNoCallSites, funcName(target))
	}
	return sites, nil
}

func funcName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return fmt.Sprintf("the function at %#x", pc)
}

// describe reports the site at addr, which Find confirmed.
func describe(addr, target uintptr) Site {
	s := Site{Addr: addr, Target: target, Call: mem(addr, 1)[0] == opCall}
	if f := runtime.FuncForPC(addr); f != nil {
		s.Func = f.Name()
		// FileLine wants a PC inside the instruction: addr is its
		// first byte.
		s.File, s.Line = f.FileLine(addr)
	}
	return s
}

// scan returns the addresses in r of E8 rel32 targeting target, and of A9
// instructions that Find verified earlier as sites of target (sites that
// are switched off), in increasing order.
func scan(r textRange, target uintptr) []uintptr {
	var cands []uintptr
	b := mem(r.lo, r.hi-r.lo)
	for i := 0; i+siteLen <= len(b); {
		j := bytes.IndexByte(b[i:len(b)-siteLen+1], opCall)
		if j < 0 {
			break
		}
		i += j
		if addr := r.lo + uintptr(i); callsTo(addr, target) {
			cands = append(cands, addr)
		}
		i++
	}
	for addr, t := range verified {
		if t == target && r.contains(addr, siteLen) && mem(addr, 1)[0] == opTest && callsTo(addr, target) {
			cands = append(cands, addr)
		}
	}
	slices.Sort(cands)
	return cands
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

// confirm decodes the function [entry, end) from its entry and returns the
// candidates the decoder lands on exactly and decodes as a 5-byte CALL to
// target (or, for a site switched off, a 5-byte TEST EAX, imm32). Decoding
// stops at the end of the function or at the first byte sequence the
// decoder rejects; candidates after that are refused.
func confirm(r textRange, entry, end uintptr, cands []uintptr, target uintptr) []uintptr {
	var ok []uintptr
	code := mem(entry, min(end, r.hi)-entry)
	pc := uintptr(0)
	for pc < uintptr(len(code)) {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil || inst.Len == 0 {
			break
		}
		addr := entry + pc
		for len(cands) > 0 && cands[0] < addr {
			cands = cands[1:] // inside an instruction: not a site
		}
		if len(cands) > 0 && cands[0] == addr && inst.Len == siteLen && isSite(inst, addr, target) {
			ok = append(ok, addr)
			cands = cands[1:]
		}
		pc += uintptr(inst.Len)
	}
	return ok
}

// isSite reports whether the decoded instruction at addr is a call to
// target or the A9 form of one.
func isSite(inst x86asm.Inst, addr, target uintptr) bool {
	switch inst.Op {
	case x86asm.CALL:
		rel, ok := inst.Args[0].(x86asm.Rel)
		return ok && addr+siteLen+uintptr(int64(rel)) == target
	case x86asm.TEST:
		return inst.Args[0] == x86asm.EAX && mem(addr, 1)[0] == opTest && callsTo(addr, target)
	}
	return false
}

// checkSite verifies, with mu held, that addr is a site Find confirmed for
// target and still holds E8 or A9 with a displacement to target. It
// returns the current opcode byte.
func checkSite(ranges []textRange, addr, target uintptr) (byte, error) {
	if _, ok := rangeOf(ranges, addr, siteLen); !ok {
		return 0, fmt.Errorf("%w: %#x is outside the executable's text", ErrNotSite, addr)
	}
	op := mem(addr, 1)[0]
	if t, ok := verified[addr]; !ok || t != target {
		return op, fmt.Errorf("%w: %#x was not returned by Find for %#x", ErrNotSite, addr, target)
	}
	if op != opCall && op != opTest {
		return op, fmt.Errorf("%w: the opcode at %#x is %#02x, neither E8 nor A9", ErrNotSite, addr, op)
	}
	if !callsTo(addr, target) {
		return op, fmt.Errorf("%w: the displacement at %#x no longer targets %#x", ErrNotSite, addr, target)
	}
	return op, nil
}

var pageSize = uintptr(unix.Getpagesize())

// Apply puts each site in the state its Change asks for and sets the
// change's Calls and Err. It sorts changes by address (stably) in place.
//
// Every write goes through one lock. Before each write Apply re-checks
// that the site is one Find returned, that its opcode is E8 or A9 and that
// its displacement still targets the function; it writes only the opcode
// byte, and only where the byte differs from the wanted one. The sites are
// grouped into runs of neighbouring pages, each made writable with one
// mprotect(PROT_READ|PROT_WRITE|PROT_EXEC) and restored with one
// mprotect(PROT_READ|PROT_EXEC). The downgrade shoots down the pages' TLB
// entries on every CPU running the process, an interrupt that serialises
// those CPUs; Apply then also calls membarrier(PRIVATE_EXPEDITED_SYNC_CORE)
// when the kernel supports it. When Apply returns, every thread executes
// the new instructions.
//
// It returns the number of bytes written and the first error met; the
// changes say which sites failed. A site that could not be written keeps
// the instruction it had (Calls says which).
func Apply(changes []Change) (written int, err error) {
	slices.SortStableFunc(changes, func(a, b Change) int { return cmp.Compare(a.Addr, b.Addr) })
	ranges, err := text()
	if err != nil {
		for i := range changes {
			changes[i].Err = err
			changes[i].Calls = true
		}
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()

	// Verify everything and mark the sites that need a write.
	var firstErr error
	for i := range changes {
		c := &changes[i]
		c.write = false
		op, err := checkSite(ranges, c.Addr, c.Target)
		c.Calls, c.Err = op == opCall, err
		switch {
		case err != nil:
			firstErr = cmp.Or(firstErr, err)
		case op == want(c.Call):
			// Never write a byte that already holds the value.
		case broken != nil:
			c.Err = broken
			firstErr = cmp.Or(firstErr, broken)
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
		w, err := writeRun(ranges, changes[i:j], first, last)
		written += w
		firstErr = cmp.Or(firstErr, err)
		i = j
	}
	if written > 0 {
		stats.batches.Add(1)
		stats.bytes.Add(uint64(written))
		if syncCore() {
			membarrier(membarrierPrivateExpeditedSyncCore)
			stats.membarriers.Add(1)
		}
	}
	return written, firstErr
}

func want(call bool) byte {
	if call {
		return opCall
	}
	return opTest
}

// writeRun makes pages [first, last] writable, writes the opcode bytes of
// the changes marked for writing, and restores the pages. mu is held.
func writeRun(ranges []textRange, changes []Change, first, last uintptr) (written int, err error) {
	pages := mem(first*pageSize, (last-first+1)*pageSize)
	stats.mprotects.Add(1)
	if err := unix.Mprotect(pages, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		err = fmt.Errorf("%w: making %d page(s) at %#x writable: %v (SELinux execmem/execmod, PaX MPROTECT or a seccomp filter forbids writable code); the sites keep their instructions", ErrMprotect, last-first+1, first*pageSize, err)
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			broken = err
		}
		for i := range changes {
			if changes[i].write {
				changes[i].Err = err
			}
		}
		return 0, err
	}
	stats.pages.Add(uint64(last - first + 1))
	for i := range changes {
		c := &changes[i]
		if !c.write {
			continue
		}
		// Re-check under the lock, right before the write.
		op, cerr := checkSite(ranges, c.Addr, c.Target)
		if cerr != nil {
			c.Calls, c.Err = op == opCall, cerr
			err = cmp.Or(err, cerr)
			continue
		}
		if b := want(c.Call); op != b {
			mem(c.Addr, 1)[0] = b // one byte: never a torn instruction
			written++
		}
		c.Calls = c.Call
	}
	stats.mprotects.Add(1)
	if err := unix.Mprotect(pages, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		// The bytes are written and still executable, but the text stays
		// writable: refuse any further write.
		broken = fmt.Errorf("%w: restoring %d page(s) at %#x to r-x: %v; code patching is disabled", ErrMprotect, last-first+1, first*pageSize, err)
		return written, broken
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
// whether it can be used. Without it, the mprotect downgrade's TLB
// shootdown is the barrier.
var syncCore = sync.OnceValue(func() bool {
	r, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierQuery, 0, 0)
	const need = membarrierPrivateExpeditedSyncCore | membarrierRegisterPrivateExpeditedSyncCore
	if e != 0 || r&need != need {
		return false
	}
	return membarrier(membarrierRegisterPrivateExpeditedSyncCore) == nil
})

// Status reports whether this process can patch call sites: nil once the
// engine has found, switched off and on again, and executed a call site of
// its own (the first call does that; later calls return its result). The
// error wraps ErrTextNotFound, ErrMprotect or ErrNoCallSites.
func Status() error {
	mu.Lock()
	b := broken
	mu.Unlock()
	if b != nil {
		return b
	}
	return status()
}

var status = sync.OnceValue(selfTest)

var probeHits atomic.Uint64

//go:noinline
func probeTarget() { probeHits.Add(1) }

//go:noinline
func probeCaller() { probeTarget() }

// selfTest patches the engine's own probe site and checks that the call
// stops and resumes.
func selfTest() error {
	target := reflect.ValueOf(probeTarget).Pointer()
	sites, err := Find(target)
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	var probe []Change
	for _, s := range sites {
		if strings.HasSuffix(s.Func, ".probeCaller") {
			probe = append(probe, Change{Addr: s.Addr, Target: target})
		}
	}
	if len(probe) != 1 {
		return fmt.Errorf("%w: self-test found %d calls in probeCaller, want 1", ErrNoCallSites, len(probe))
	}
	if _, err := Apply(probe); err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	before := probeHits.Load()
	probeCaller()
	skipped := probeHits.Load() == before
	probe[0].Call = true
	if _, err := Apply(probe); err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	probeCaller()
	if !skipped || probeHits.Load() != before+1 {
		return fmt.Errorf("self-test: the patched probe call did not stop and resume (skipped %v, hits %d, want %d)", skipped, probeHits.Load(), before+1)
	}
	return nil
}
