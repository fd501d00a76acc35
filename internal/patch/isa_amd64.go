//go:build linux && amd64

package patch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// arch is the instruction set the engine patches.
var arch isa = amd64{}

const (
	opCall = 0xE8 // CALL rel32
	opTest = 0xA9 // TEST EAX, imm32
)

// amd64 is the x86-64 instruction set: a site is CALL rel32 (E8 + 4
// bytes), switched off as TEST EAX, imm32 (A9 + the same 4 bytes).
type amd64 struct{}

func (amd64) name() string       { return "amd64" }
func (amd64) siteLen() int       { return 5 }
func (amd64) align() uintptr     { return 1 }
func (amd64) needSyncCore() bool { return false }

func (amd64) calls(code []byte, base uintptr, fn func(addr, target uintptr)) {
	for i := 0; i+5 <= len(code); {
		j := bytes.IndexByte(code[i:len(code)-4], opCall)
		if j < 0 {
			return
		}
		i += j
		addr := base + uintptr(i)
		rel := int32(binary.LittleEndian.Uint32(code[i+1:]))
		fn(addr, addr+5+uintptr(int64(rel)))
		i++
	}
}

func (amd64) callTarget(b []byte, addr uintptr) (uintptr, bool) {
	if len(b) < 5 || b[0] != opCall {
		return 0, false
	}
	rel := int32(binary.LittleEndian.Uint32(b[1:]))
	return addr + 5 + uintptr(int64(rel)), true
}

func (amd64) off(dst, call []byte) {
	copy(dst, call[:5])
	dst[0] = opTest
}

// instLen decodes with x86asm, except where x86asm is known to lose sync
// with the instruction stream: VEX-encoded instructions (it decodes
// VZEROUPPER followed by a byte >= 0xC0 as 4 bytes), whose length vexLen
// measures itself, and ENDBR64 (decoded as a 1-byte REP). An instruction
// the decoder does not know, EVEX (AVX-512) included, is an error: the
// walk stops trusting the function.
func (amd64) instLen(code []byte) (int, error) {
	// Address-size and segment prefixes may precede a VEX prefix.
	p := 0
	for p < len(code) && p < 4 && isVEXPrefixable(code[p]) {
		p++
	}
	if p < len(code) && (code[p] == 0xC4 || code[p] == 0xC5) {
		n, err := vexLen(code[p:])
		return p + n, err
	}
	if p < len(code) && code[p] == 0x62 {
		return 0, fmt.Errorf("an EVEX-encoded (AVX-512) instruction, which the decoder does not know (% x)", code[p:min(len(code), p+4)])
	}
	if len(code) >= 4 && code[0] == 0xF3 && code[1] == 0x0F && code[2] == 0x1E && code[3] == 0xFA {
		return 4, nil // ENDBR64
	}
	inst, err := x86asm.Decode(code, 64)
	if err != nil {
		return 0, err
	}
	if inst.Len == 0 || inst.Op == 0 {
		return 0, fmt.Errorf("an instruction the decoder does not know (% x)", code[:min(len(code), 4)])
	}
	return inst.Len, nil
}

// isVEXPrefixable reports whether b is a legacy prefix allowed before VEX
// (66, F2, F3, F0 and REX are not: they make it #UD).
func isVEXPrefixable(b byte) bool {
	switch b {
	case 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65:
		return true
	}
	return false
}

// errTruncated: an instruction runs past the end of the function.
var errTruncated = errors.New("an instruction runs past the end of the code")

// vexLen returns the length of the VEX-encoded instruction at the start of
// code (in 64-bit mode C4 and C5 always start one): the 2- or 3-byte
// prefix, the opcode, a ModRM (every VEX opcode has one but VZEROUPPER and
// VZEROALL) with its SIB and displacement, and an imm8 for map 0F3A and
// the imm8 opcodes of map 0F (Intel SDM vol. 2, 2.3 and appendix A).
func vexLen(code []byte) (int, error) {
	var m, n int // opcode map (1: 0F, 2: 0F38, 3: 0F3A); bytes so far
	switch code[0] {
	case 0xC5:
		m, n = 1, 2
	case 0xC4:
		if len(code) < 2 {
			return 0, errTruncated
		}
		m, n = int(code[1]&0x1F), 3
	}
	if m < 1 || m > 3 {
		return 0, fmt.Errorf("a VEX prefix with the reserved opcode map %d (% x)", m, code[:min(len(code), 4)])
	}
	if len(code) <= n {
		return 0, errTruncated
	}
	op := code[n]
	n++
	if m == 1 && op == 0x77 {
		return n, nil // VZEROUPPER, VZEROALL: no ModRM
	}
	if len(code) <= n {
		return 0, errTruncated
	}
	modrm := code[n]
	n++
	mod, rm := modrm>>6, modrm&7
	if mod != 3 && rm == 4 { // SIB
		if len(code) <= n {
			return 0, errTruncated
		}
		if mod == 0 && code[n]&7 == 5 {
			n += 4 // no base: disp32
		}
		n++
	}
	switch {
	case mod == 0 && rm == 5:
		n += 4 // RIP-relative disp32
	case mod == 1:
		n++
	case mod == 2:
		n += 4
	}
	if m == 3 || m == 1 && (op >= 0x70 && op <= 0x73 || op >= 0xC2 && op <= 0xC6 && op != 0xC3) {
		n++ // imm8
	}
	if n > len(code) {
		return 0, errTruncated
	}
	return n, nil
}

// write stores the opcode byte only: the encodings share the other four,
// and a one-byte store is never seen torn.
func (amd64) write(addr uintptr, from, to []byte) int {
	mem(addr, 1)[0] = to[0]
	return 1
}

func (amd64) flush([]uintptr) {}
