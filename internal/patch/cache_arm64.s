//go:build linux

#include "textflag.h"

// func readCTR() uint64
TEXT ·readCTR(SB), NOSPLIT, $0-8
	MRS	CTR_EL0, R0
	MOVD	R0, ret+0(FP)
	RET

// func syncICache(start, end, dline, iline, flags uintptr)
//
// As Linux's caches_clean_inval_pou (arch/arm64/mm/cache.S) and the Arm
// ARM's sequence for code written by the same PE: clean each data-cache
// line of [start, end) to the point of unification, DSB ISH, invalidate
// each instruction-cache line, DSB ISH, ISB. flags bit 0 (CTR_EL0.IDC)
// skips the clean but not the DSB, which makes the store complete before
// the invalidation (Linux uses DSB ISHST there; ISH is stronger); bit 1
// (CTR_EL0.DIC) skips the invalidation and its DSB but not the ISB. The
// lines are stepped from start rounded down to the line size while below
// end, so a range within one line costs one operation of each kind.
// TestARM64CacheMaintenanceCode pins the assembled sequence.
TEXT ·syncICache(SB), NOSPLIT, $0-40
	MOVD	start+0(FP), R0
	MOVD	end+8(FP), R1
	MOVD	dline+16(FP), R2
	MOVD	iline+24(FP), R3
	MOVD	flags+32(FP), R6
	TBNZ	$0, R6, dsync
	SUB	$1, R2, R4
	BIC	R4, R0, R5
dloop:
	DC	CVAU, R5
	ADD	R2, R5, R5
	CMP	R1, R5
	BLO	dloop
dsync:
	DSB	$11 // ISH
	TBNZ	$1, R6, isync
	SUB	$1, R3, R4
	BIC	R4, R0, R5
iloop:
	WORD	$0xd50b7525 // IC IVAU, R5 (the Go assembler has no IC IVAU)
	ADD	R3, R5, R5
	CMP	R1, R5
	BLO	iloop
	DSB	$11 // ISH
isync:
	ISB	$15
	RET
