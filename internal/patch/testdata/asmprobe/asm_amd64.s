#include "textflag.h"

// func asmCaller()
TEXT ·asmCaller(SB), $8-0
	MOVQ $10, 0(SP)
	CALL ·fromAsm(SB)
	RET

// func asmTarget()
TEXT ·asmTarget(SB), NOSPLIT, $0-0
	RET

// func asmTargetAddr() uintptr
TEXT ·asmTargetAddr(SB), NOSPLIT, $0-8
	LEAQ ·asmTarget(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func asmCallsAsm()
TEXT ·asmCallsAsm(SB), $8-0
	VZEROUPPER
	CALL ·asmTarget(SB)
	BYTE $0xF3; BYTE $0x0F; BYTE $0x1E; BYTE $0xFA // ENDBR64
	CALL ·asmTarget(SB)
	RET

// func asmJumps()
TEXT ·asmJumps(SB), NOSPLIT, $0-0
	JMP ·asmTarget(SB)
