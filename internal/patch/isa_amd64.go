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

// errVEX: x86asm mis-measures VEX-encoded instructions (VZEROUPPER
// followed by a byte >= 0xC0 decodes as 4 bytes), so the engine stops
// trusting the walk at the first one.
var errVEX = errors.New("a VEX-encoded instruction, whose length the decoder does not measure reliably")

func (amd64) instLen(code []byte) (int, error) {
	if len(code) > 0 && (code[0] == 0xC4 || code[0] == 0xC5) {
		return 0, errVEX // in 64-bit mode C4 and C5 always start a VEX prefix
	}
	if len(code) >= 4 && code[0] == 0xF3 && code[1] == 0x0F && code[2] == 0x1E && code[3] == 0xFA {
		return 4, nil // ENDBR64, which x86asm decodes as a 1-byte REP
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

// write stores the opcode byte only: the encodings share the other four,
// and a one-byte store is never seen torn.
func (amd64) write(addr uintptr, from, to []byte) int {
	mem(addr, 1)[0] = to[0]
	return 1
}

func (amd64) flush([]uintptr) {}
