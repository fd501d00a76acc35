//go:build linux

package patch

// maxSite bounds the length of a site's instruction on every ISA.
const maxSite = 8

// An isa is the instruction-set half of the engine: what a direct call
// looks like, how a candidate is verified, the two encodings of a site,
// how they are written and what the write needs afterwards. The Linux
// mechanism (text, pages, lock, barriers, self-test) is shared by all.
//
// isa_<arch>.go sets arch to the platform's instruction set; where none
// exists, arch is nil and the engine reports ErrUnsupported.
type isa interface {
	// name is the instruction set's name in messages ("amd64").
	name() string
	// siteLen is the length in bytes of a site's instruction, the same in
	// both encodings (at most maxSite); align is the alignment every
	// instruction of the ISA has (1 where lengths vary, 4 on arm64).
	siteLen() int
	align() uintptr

	// calls calls fn for every direct call encoded in code, which starts
	// at address base: the address of the instruction and its target. It
	// may report byte sequences that are not instructions (the candidates
	// are confirmed by walking their function); it must not miss a call
	// whose instruction lies wholly in code.
	calls(code []byte, base uintptr, fn func(addr, target uintptr))
	// callTarget decodes b, the siteLen bytes at addr, as a direct call
	// and returns its target.
	callTarget(b []byte, addr uintptr) (target uintptr, ok bool)
	// off writes into dst the switched-off encoding of the call
	// instruction call (both siteLen bytes): an instruction of the same
	// length with no effect a call does not have anyway.
	off(dst, call []byte)
	// instLen returns the length of the instruction at the start of code,
	// or an error when the decoder cannot decode it or does not trust its
	// own result (it then loses sync with the instruction stream).
	instLen(code []byte) (int, error)

	// write replaces the site at addr, which holds from (one of the two
	// encodings), by to (the other), with stores that no thread can
	// observe torn: one byte on amd64 (the encodings differ only in
	// their first byte), one aligned 32-bit word on arm64. The page is
	// writable. It returns the number of bytes stored.
	write(addr uintptr, from, to []byte) int
	// flush runs after the writes of a batch, before the membarrier, for
	// the sites written: the cache maintenance that makes the new
	// instructions visible to instruction fetch (nothing on amd64, whose
	// instruction caches are coherent; DC CVAU / IC IVAU on arm64).
	flush(addrs []uintptr)
	// needSyncCore reports whether patching is unsafe without
	// membarrier(PRIVATE_EXPEDITED_SYNC_CORE) (on amd64 the mprotect
	// downgrade's TLB shootdown already serialises the other CPUs).
	needSyncCore() bool
}
