//go:build linux && arm64

package patch

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
)

// arch is the instruction set the engine patches.
var arch isa = arm64{}

const (
	wordNOP  = 0xD503201F // NOP (HINT #0)
	maskBL   = 0xFC000000 // BL imm26: bits 31:26 are 100101
	opBL     = 0x94000000
	maskLDRl = 0x3B000000 // LDR (literal), integer and SIMD&FP: bits 29:27 = 011, 25:24 = 00
	opLDRl   = 0x18000000
)

// arm64 is the A64 instruction set: a site is BL imm26 (one aligned word)
// whose target is the registered function; switched off it is NOP. Both
// are in the Arm ARM's list of instructions that may be concurrently
// modified and executed (B, BL, NOP, ... : "Concurrent modification and
// execution of instructions", B2.2.5 in DDI 0487), and the write is one
// aligned 32-bit store, which is single-copy atomic. Another thread sees
// either the old or the new instruction, once the caches are maintained
// (flush) and the thread has executed a context-synchronising event
// (membarrier SYNC_CORE).
type arm64 struct{}

func (arm64) name() string       { return "arm64" }
func (arm64) siteLen() int       { return 4 }
func (arm64) align() uintptr     { return 4 }
func (arm64) needSyncCore() bool { return true }

// blTarget decodes w, the word at addr, as BL and returns its target.
func blTarget(w uint32, addr uintptr) (uintptr, bool) {
	if w&maskBL != opBL {
		return 0, false
	}
	imm := int64(int32(w<<6) >> 6) // sign-extend imm26
	return addr + uintptr(imm*4), true
}

// literalSpan returns the address and length of the data an LDR (literal)
// word w at addr loads, or 0 when w is not one.
func literalSpan(w uint32, addr uintptr) (uintptr, uintptr) {
	if w&maskLDRl != opLDRl {
		return 0, 0
	}
	imm := int64(int32(w<<8) >> 13) // sign-extend imm19 (bits 23:5)
	n := uintptr(4)
	switch opc, simd := w>>30, w>>26&1 == 1; {
	case opc == 1:
		n = 8
	case opc == 2 && simd:
		n = 16
	}
	return addr + uintptr(imm*4), n
}

// calls reports every BL word in code except words that an LDR (literal)
// in the same range loads as data: the Go assembler places literal pools
// in the text, after the function's code, and a constant there may look
// like a BL. Leaving such a word out is the safe direction: a call that is
// not found keeps calling.
func (arm64) calls(code []byte, base uintptr, fn func(addr, target uintptr)) {
	start := (base + 3) &^ 3
	skip := int(start - base)
	var data map[uintptr]bool
	for i := skip; i+4 <= len(code); i += 4 {
		w := binary.LittleEndian.Uint32(code[i:])
		if at, n := literalSpan(w, base+uintptr(i)); n != 0 {
			if data == nil {
				data = map[uintptr]bool{}
			}
			for a := at &^ 3; a < at+n; a += 4 {
				data[a] = true
			}
		}
	}
	for i := skip; i+4 <= len(code); i += 4 {
		w := binary.LittleEndian.Uint32(code[i:])
		addr := base + uintptr(i)
		if t, ok := blTarget(w, addr); ok && !data[addr] {
			fn(addr, t)
		}
	}
}

func (arm64) callTarget(b []byte, addr uintptr) (uintptr, bool) {
	if len(b) < 4 || addr&3 != 0 {
		return 0, false
	}
	return blTarget(binary.LittleEndian.Uint32(b), addr)
}

func (arm64) off(dst, call []byte) {
	binary.LittleEndian.PutUint32(dst, wordNOP)
}

var errTruncated = errors.New("a truncated A64 instruction")

// instLen is 4 for every aligned word: A64 instructions are fixed-width,
// so a walk from a function's entry can never lose sync. Data in the text
// (literal pools) is excluded by calls.
func (arm64) instLen(code []byte) (int, error) {
	if len(code) < 4 {
		return 0, errTruncated
	}
	return 4, nil
}

// write stores the new word with one aligned 32-bit store.
func (arm64) write(addr uintptr, from, to []byte) int {
	atomic.StoreUint32((*uint32)(pointer(addr)), binary.LittleEndian.Uint32(to))
	return 4
}

// flush cleans the data cache to the point of unification and invalidates
// the instruction cache for the lines written, as Linux's
// caches_clean_inval_pou does: DC CVAU per data-cache line, DSB ISH, IC
// IVAU per instruction-cache line, DSB ISH, ISB. The line sizes come from
// CTR_EL0 (which Linux lets EL0 read, trapping and emulating it where an
// erratum needs a different value); CTR_EL0.IDC and DIC say when either
// half is not needed. The ISB covers only this thread: the engine's
// membarrier(SYNC_CORE) makes every other thread execute a
// context-synchronising event before Apply returns.
func (arm64) flush(addrs []uintptr) {
	c := cacheInfo()
	for _, a := range addrs {
		syncICache(a, a+4, c.dline, c.iline, c.flags)
	}
}

// cacheGeometry is what CTR_EL0 says about cache maintenance.
type cacheGeometry struct {
	dline, iline uintptr // smallest data- and instruction-cache line, bytes
	flags        uintptr // cacheIDC | cacheDIC
}

const (
	cacheIDC = 1 << 0 // CTR_EL0.IDC: no data-cache clean needed for I/D coherence
	cacheDIC = 1 << 1 // CTR_EL0.DIC: no instruction-cache invalidation needed
)

var cacheInfo = sync.OnceValue(func() cacheGeometry { return geometry(readCTR()) })

// geometry decodes CTR_EL0: DminLine (bits 19:16) and IminLine (bits 3:0)
// are log2 of the line length in 4-byte words; IDC is bit 28, DIC bit 29.
func geometry(ctr uint64) cacheGeometry {
	g := cacheGeometry{dline: 4 << (ctr >> 16 & 0xF), iline: 4 << (ctr & 0xF)}
	if ctr>>28&1 == 1 {
		g.flags |= cacheIDC
	}
	if ctr>>29&1 == 1 {
		g.flags |= cacheDIC
	}
	return g
}

// readCTR returns CTR_EL0 (cache_arm64.s).
func readCTR() uint64

// syncICache makes the instructions in [start, end) visible to
// instruction fetch on this CPU (cache_arm64.s).
//
//go:noescape
func syncICache(start, end, dline, iline, flags uintptr)
