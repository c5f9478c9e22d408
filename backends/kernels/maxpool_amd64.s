//go:build amd64

#include "textflag.h"

// func maxRows512(dst, src *float32, rows, T int)
// dst[0:T] = max over r < rows of src[r*T : r*T+T], T a multiple of 16,
// rows >= 1. Hand-written.
TEXT ·maxRows512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ T+24(FP), R9
	SHLQ $2, R9
	XORQ BX, BX
mr512_col:
	LEAQ (SI)(BX*1), AX
	VMOVUPS (AX), Z0
	MOVQ R8, CX
	DECQ CX
	JEQ mr512_store
mr512_row:
	ADDQ R9, AX
	VMAXPS (AX), Z0, Z0
	DECQ CX
	JNZ mr512_row
mr512_store:
	VMOVUPS Z0, (DI)(BX*1)
	ADDQ $64, BX
	CMPQ BX, R9
	JLT mr512_col
	VZEROUPPER
	RET
