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
// On linux/amd64 a call site is the 5-byte instruction E8 rel32 (CALL). It
// is disabled by writing A9 over the opcode byte, which turns the
// instruction into A9 imm32 (TEST EAX, imm32): same length, same four
// bytes after the opcode, no effect but on the flags, which a call
// clobbers anyway. Enabling writes E8 back. The write is one byte.
//
// Sites are found without a symbol table: the text is located through the
// process's own mappings, scanned for direct calls whose target is the
// function's entry, and every candidate is confirmed by decoding its
// enclosing function (found with [runtime.FuncForPC], whose pclntab
// survives stripping) from that function's entry: a candidate is a site
// only if the decoder lands exactly on it and decodes a call to the
// target.
//
// Every write is re-verified and serialised: see [Apply]. On platforms
// without an instruction set every function of this package reports
// [ErrUnsupported].
package patch
