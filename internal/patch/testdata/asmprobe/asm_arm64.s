#include "textflag.h"

// func asmCaller()
TEXT ·asmCaller(SB), $16-0
	MOVD	$10, R0
	MOVD	R0, 8(RSP)
	CALL	·fromAsm(SB)
	RET

// func asmTarget()
TEXT ·asmTarget(SB), NOSPLIT, $0-0
	RET

// func asmTargetAddr() uintptr
TEXT ·asmTargetAddr(SB), NOSPLIT, $0-8
	MOVD	$·asmTarget(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func asmCallsAsm()
//
// Two BLs to asmTarget in hand-written assembly, one behind a literal
// load (the Go assembler puts the constant in a literal pool after the
// function's code).
TEXT ·asmCallsAsm(SB), $16-0
	CALL	·asmTarget(SB)
	MOVD	$0x123456789abcdef0, R1
	CALL	·asmTarget(SB)
	RET

// func asmJumps()
TEXT ·asmJumps(SB), NOSPLIT, $0-0
	JMP	·asmTarget(SB)
