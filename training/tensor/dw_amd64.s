#include "textflag.h"

// func dwFwdRows(out, xp, w *float32, offs *int, ntaps, nchunks, npix, xstride int)
// For each of npix output pixels (out advancing 64*nchunks bytes, xp by
// xstride bytes): out[0:16*nchunks] = sum over taps t of w[t] * xp[offs[t]:].
TEXT ·dwFwdRows(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ w+16(FP), R8
	MOVQ offs+24(FP), R9
	MOVQ ntaps+32(FP), R10
	MOVQ nchunks+40(FP), R11
	MOVQ npix+48(FP), R13
	MOVQ xstride+56(FP), R14
fpixel:
	XORQ R12, R12
	MOVQ R11, DX
fblock4:
	CMPQ DX, $4
	JLT ftail
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ CX, CX
ftap4:
	VBROADCASTSS (R8)(CX*4), Z4
	MOVQ (R9)(CX*8), AX
	LEAQ (SI)(AX*4), BX
	ADDQ R12, BX
	VFMADD231PS (BX), Z4, Z0
	VFMADD231PS 64(BX), Z4, Z1
	VFMADD231PS 128(BX), Z4, Z2
	VFMADD231PS 192(BX), Z4, Z3
	INCQ CX
	CMPQ CX, R10
	JLT ftap4
	LEAQ (DI)(R12*1), BX
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, 64(BX)
	VMOVUPS Z2, 128(BX)
	VMOVUPS Z3, 192(BX)
	ADDQ $256, R12
	SUBQ $4, DX
	JMP fblock4
ftail:
	TESTQ DX, DX
	JEQ fnext
	VPXORD Z0, Z0, Z0
	XORQ CX, CX
ftap1:
	VBROADCASTSS (R8)(CX*4), Z4
	MOVQ (R9)(CX*8), AX
	LEAQ (SI)(AX*4), BX
	ADDQ R12, BX
	VFMADD231PS (BX), Z4, Z0
	INCQ CX
	CMPQ CX, R10
	JLT ftap1
	VMOVUPS Z0, (DI)(R12*1)
	ADDQ $64, R12
	DECQ DX
	JMP ftail
fnext:
	ADDQ R12, DI
	ADDQ R14, SI
	DECQ R13
	JNZ fpixel
	VZEROUPPER
	RET

// func dwBwdRows(grad, xp, dxp, w, dwacc *float32, offs *int, ntaps, nchunks, npix, xstride int)
// For each of npix output pixels with gradient g[0:16*nchunks] (g advancing
// 64*nchunks bytes, xp and dxp by xstride bytes), for each tap t:
// dwacc[16t:16t+16] += sum over chunks of g*xp[offs[t]:], dxp[offs[t]:] += w[t]*g.
TEXT ·dwBwdRows(SB), NOSPLIT, $0-80
	MOVQ grad+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ dxp+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ dwacc+32(FP), R10
	MOVQ offs+40(FP), R11
	MOVQ ntaps+48(FP), R12
	MOVQ nchunks+56(FP), R13
	MOVQ npix+64(FP), R14
bpixel:
	MOVQ R13, DX
bblock4:
	CMPQ DX, $4
	JLT btail
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	XORQ CX, CX
btap4:
	MOVQ (R11)(CX*8), AX
	VBROADCASTSS (R9)(CX*4), Z4
	MOVQ CX, BX
	SHLQ $6, BX
	VMOVUPS (R10)(BX*1), Z5
	VMULPS 64(SI)(AX*4), Z1, Z6
	VFMADD231PS (SI)(AX*4), Z0, Z5
	VFMADD231PS 192(SI)(AX*4), Z3, Z6
	VFMADD231PS 128(SI)(AX*4), Z2, Z5
	VADDPS Z6, Z5, Z5
	VMOVUPS Z5, (R10)(BX*1)
	VMOVUPS (R8)(AX*4), Z7
	VFMADD231PS Z0, Z4, Z7
	VMOVUPS Z7, (R8)(AX*4)
	VMOVUPS 64(R8)(AX*4), Z8
	VFMADD231PS Z1, Z4, Z8
	VMOVUPS Z8, 64(R8)(AX*4)
	VMOVUPS 128(R8)(AX*4), Z9
	VFMADD231PS Z2, Z4, Z9
	VMOVUPS Z9, 128(R8)(AX*4)
	VMOVUPS 192(R8)(AX*4), Z10
	VFMADD231PS Z3, Z4, Z10
	VMOVUPS Z10, 192(R8)(AX*4)
	INCQ CX
	CMPQ CX, R12
	JLT btap4
	ADDQ $256, DI
	ADDQ $256, SI
	ADDQ $256, R8
	SUBQ $4, DX
	JMP bblock4
btail:
	TESTQ DX, DX
	JEQ bnext
	VMOVUPS (DI), Z0
	XORQ CX, CX
btap1:
	MOVQ (R11)(CX*8), AX
	VBROADCASTSS (R9)(CX*4), Z4
	MOVQ CX, BX
	SHLQ $6, BX
	VMOVUPS (R10)(BX*1), Z5
	VFMADD231PS (SI)(AX*4), Z0, Z5
	VMOVUPS Z5, (R10)(BX*1)
	VMOVUPS (R8)(AX*4), Z7
	VFMADD231PS Z0, Z4, Z7
	VMOVUPS Z7, (R8)(AX*4)
	INCQ CX
	CMPQ CX, R12
	JLT btap1
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	DECQ DX
	JMP btail
bnext:
	// rewind xp/dxp to the next pixel: + xstride - 64*nchunks
	MOVQ xstride+72(FP), AX
	MOVQ R13, BX
	SHLQ $6, BX
	SUBQ BX, AX
	ADDQ AX, SI
	ADDQ AX, R8
	DECQ R14
	JNZ bpixel
	VZEROUPPER
	RET
