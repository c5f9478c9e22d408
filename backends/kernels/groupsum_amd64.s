//go:build amd64

#include "textflag.h"

// func groupSum512(dst, s, inv *float32, rows, T, G, lds int)
// dst[i*T+j] = sum over a < G of s[i*lds + a*T + j] * inv[a*T + j], for
// T a multiple of 16. Hand-written.
TEXT ·groupSum512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ inv+16(FP), R8
	MOVQ rows+24(FP), R9
	MOVQ T+32(FP), R10
	MOVQ G+40(FP), R11
	MOVQ lds+48(FP), R12
	SHLQ $2, R10
	SHLQ $2, R12
	TESTQ R9, R9
	JEQ gs512_done
gs512_row:
	XORQ BX, BX
gs512_chunk:
	VXORPS Z0, Z0, Z0
	LEAQ (SI)(BX*1), AX
	LEAQ (R8)(BX*1), DX
	MOVQ R11, CX
gs512_head:
	VMOVUPS (AX), Z1
	VFMADD231PS (DX), Z1, Z0
	ADDQ R10, AX
	ADDQ R10, DX
	DECQ CX
	JNZ gs512_head
	VMOVUPS Z0, (DI)(BX*1)
	ADDQ $64, BX
	CMPQ BX, R10
	JLT gs512_chunk
	ADDQ R12, SI
	ADDQ R10, DI
	DECQ R9
	JNZ gs512_row
gs512_done:
	VZEROUPPER
	RET
