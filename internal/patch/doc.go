// Package patch is the cross-modifying-code engine behind dflag's call
// sites: it finds the direct calls to a function in the running program's
// machine code and switches each of them between the call and an
// instruction of the same length that does nothing.
//
// The engine has two halves. The Linux mechanism (linux.go, maps.go,
// apply.go, selftest.go) locates the text through /proc/self/maps, walks
// functions with the help of the runtime's pclntab, makes runs of pages
// writable with mprotect, serialises every write behind one lock, issues
// membarrier(PRIVATE_EXPEDITED_SYNC_CORE) and runs the self-test. The
// instruction set (one file per ISA, isa_<arch>.go) says what a direct
// call looks like, how its target is computed, how an instruction's length
// is decoded, what the switched-off encoding is, how the write is done and
// what cache maintenance follows it.
//
// Call sites are patched on linux/amd64 and linux/arm64.
//
// On linux/amd64 a call site is the 5-byte instruction E8 rel32 (CALL). It
// is disabled by writing A9 over the opcode byte, which turns the
// instruction into A9 imm32 (TEST EAX, imm32): same length, same four
// bytes after the opcode, no effect but on the flags, which a call
// clobbers anyway. Enabling writes E8 back. The write is one byte.
//
// On linux/arm64 a call site is the word BL imm26. It is disabled by
// writing NOP (0xD503201F) over it and enabled by writing the original BL
// back, with one aligned 32-bit store. Both are in the Arm ARM's list of
// instructions that may be modified while another thread executes them.
// After the stores the engine cleans the data cache and invalidates the
// instruction cache for the written lines (DC CVAU, DSB ISH, IC IVAU, DSB
// ISH, ISB, with the line sizes of CTR_EL0, as Linux's
// caches_clean_inval_pou), and membarrier(PRIVATE_EXPEDITED_SYNC_CORE),
// required there, makes every other thread execute a context
// synchronisation event before Apply returns. Words that an LDR (literal)
// loads as data are never taken for calls. docs/arm64.md has the argument
// and what the tests under qemu-aarch64-static check.
//
// Sites are found without a symbol table: the text is located through the
// process's own mappings, scanned for direct calls whose target is the
// function's entry, and every candidate is confirmed by decoding its
// enclosing function (found with [runtime.FuncForPC], whose pclntab
// survives stripping) from that function's entry: a candidate is a site
// only if the decoder lands exactly on it and decodes a call to the
// target.
//
// The text is the module the engine is linked into: the executable
// mappings of the file that holds the engine's own code (the program, also
// when started as `ld.so ./prog`, or the library under -buildmode=c-shared).
// The first Find indexes every direct call in it once (8 bytes per call,
// see [Stats].IndexBytes); later calls look their candidates up.
//
// A candidate is verified only inside compiled Go: functions from .s files
// are refused, and so is every candidate of a function the decoder cannot
// walk from its entry exactly to its end ([RefusedError] lists them; they
// keep calling). Calls the compiler routes through its own wrappers
// (method wrappers, ABI0 wrappers for assembly callers) are sites with
// [Site].Wrapper set.
//
// Every write is re-verified and serialised: see [Apply]. A refused
// mprotect wraps [ErrMprotect] and the errno and breaks the engine for
// switching calls off; restoring calls is always attempted, and every
// [Change] says what its site executes afterwards.
//
// Safety, stated exactly: the store is atomic, and when Apply returns
// every thread has serialised (on amd64 mprotect's TLB shootdown and
// membarrier SYNC_CORE; on arm64 the cache maintenance and membarrier
// SYNC_CORE) and executes the new instruction. On amd64, what a core that
// executes the site during the store sees is not promised by Intel's or
// AMD's manuals (it is unsynchronised cross-modifying code, SDM Vol. 3A
// 8.1.3; Linux uses the int3 protocol of text_poke_bp for its own text):
// it rests on the seed library's production record with the same kind of
// one-byte flip and on this package's stress tests. On arm64 the Arm ARM
// promises it: the old instruction or the new one. docs/callsites.md and
// docs/arm64.md have the whole argument.
//
// On platforms without an instruction set every function of this package
// reports [ErrUnsupported].
package patch
