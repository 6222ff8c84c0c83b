#include "textflag.h"

// Constants for the activation kernels.
DATA three<>+0(SB)/4, $0x40400000
GLOBL three<>(SB), RODATA|NOPTR, $4
DATA six<>+0(SB)/4, $0x40c00000
GLOBL six<>(SB), RODATA|NOPTR, $4
DATA sixth<>+0(SB)/4, $0x3e2aaaab
GLOBL sixth<>(SB), RODATA|NOPTR, $4
DATA third<>+0(SB)/4, $0x3eaaaaab
GLOBL third<>(SB), RODATA|NOPTR, $4
DATA half<>+0(SB)/4, $0x3f000000
GLOBL half<>(SB), RODATA|NOPTR, $4
DATA one<>+0(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $4
DATA mthree<>+0(SB)/4, $0xc0400000
GLOBL mthree<>(SB), RODATA|NOPTR, $4

// func affineActAVX(act int, src, dst *float32, n int, a, c float32)
// dst = act(a*src + c); n > 0, a multiple of 16.
TEXT ·affineActAVX(SB), NOSPLIT, $0-40
	MOVQ act+0(FP), AX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Z1
	VBROADCASTSS c+36(FP), Z2
	VPXORD Z3, Z3, Z3
	VBROADCASTSS six<>(SB), Z4
	VBROADCASTSS three<>(SB), Z6
	VBROADCASTSS sixth<>(SB), Z7
	CMPQ AX, $1
	JEQ frelu
	CMPQ AX, $2
	JEQ frelu6
	CMPQ AX, $3
	JEQ fhswish
	CMPQ AX, $4
	JEQ fhsig
fnone:
	VMOVUPS (SI), Z0
	VFMADD213PS Z2, Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ fnone
	JMP fdone
frelu:
	VMOVUPS (SI), Z0
	VFMADD213PS Z2, Z1, Z0
	VMAXPS Z3, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ frelu
	JMP fdone
frelu6:
	VMOVUPS (SI), Z0
	VFMADD213PS Z2, Z1, Z0
	VMAXPS Z3, Z0, Z0
	VMINPS Z4, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ frelu6
	JMP fdone
fhswish:
	VMOVUPS (SI), Z0
	VFMADD213PS Z2, Z1, Z0
	VADDPS Z6, Z0, Z5
	VMAXPS Z3, Z5, Z5
	VMINPS Z4, Z5, Z5
	VMULPS Z5, Z0, Z0
	VMULPS Z7, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ fhswish
	JMP fdone
fhsig:
	VMOVUPS (SI), Z0
	VFMADD213PS Z2, Z1, Z0
	VADDPS Z6, Z0, Z0
	VMAXPS Z3, Z0, Z0
	VMINPS Z4, Z0, Z0
	VMULPS Z7, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ fhsig
fdone:
	VZEROUPPER
	RET

// func affineActGradAVX(act int, x, grad, d *float32, n int, a, c, mu float32, sums *float32)
// d = g * act'(a*x + c); sums[0:16] += d, sums[16:32] += d*(x-mu) (lane-wise).
TEXT ·affineActGradAVX(SB), NOSPLIT, $0-64
	MOVQ act+0(FP), AX
	MOVQ x+8(FP), SI
	MOVQ grad+16(FP), BX
	MOVQ d+24(FP), DI
	MOVQ n+32(FP), CX
	VBROADCASTSS a+40(FP), Z1
	VBROADCASTSS c+44(FP), Z2
	VBROADCASTSS mu+48(FP), Z12
	MOVQ sums+56(FP), DX
	VMOVUPS (DX), Z10
	VMOVUPS 64(DX), Z11
	VPXORD Z3, Z3, Z3
	VBROADCASTSS six<>(SB), Z4
	VBROADCASTSS three<>(SB), Z6
	VBROADCASTSS sixth<>(SB), Z7
	VBROADCASTSS third<>(SB), Z13
	VBROADCASTSS half<>(SB), Z14
	VBROADCASTSS one<>(SB), Z15
	VBROADCASTSS mthree<>(SB), Z16
gloop:
	VMOVUPS (SI), Z0
	VMOVUPS (BX), Z8
	VMOVAPS Z0, Z5
	VFMADD213PS Z2, Z1, Z5
	CMPQ AX, $1
	JEQ grelu
	CMPQ AX, $2
	JEQ grelu6
	CMPQ AX, $3
	JEQ ghswish
	CMPQ AX, $4
	JEQ ghsig
	JMP gstore
grelu:
	VCMPPS $30, Z3, Z5, K1
	VBLENDMPS Z8, Z3, K1, Z8
	JMP gstore
grelu6:
	VCMPPS $30, Z3, Z5, K1
	VCMPPS $17, Z4, Z5, K1, K2
	VBLENDMPS Z8, Z3, K2, Z8
	JMP gstore
ghswish:
	VMULPS Z13, Z5, Z9
	VADDPS Z14, Z9, Z9
	VCMPPS $30, Z6, Z5, K1
	VBLENDMPS Z15, Z9, K1, Z9
	VCMPPS $17, Z16, Z5, K2
	VBLENDMPS Z3, Z9, K2, Z9
	VMULPS Z9, Z8, Z8
	JMP gstore
ghsig:
	VCMPPS $30, Z16, Z5, K1
	VCMPPS $17, Z6, Z5, K1, K2
	VMULPS Z7, Z8, Z8
	VBLENDMPS Z8, Z3, K2, Z8
gstore:
	VMOVUPS Z8, (DI)
	VADDPS Z8, Z10, Z10
	VSUBPS Z12, Z0, Z9
	VFMADD231PS Z9, Z8, Z11
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ gloop
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	VZEROUPPER
	RET

// func axpbyAVX(d, x *float32, n int, alpha, beta, gamma float32)
// d = alpha*d + beta*x + gamma; n > 0, a multiple of 16.
TEXT ·axpbyAVX(SB), NOSPLIT, $0-36
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS alpha+24(FP), Z1
	VBROADCASTSS beta+28(FP), Z2
	VBROADCASTSS gamma+32(FP), Z3
aloop:
	VMOVUPS (DI), Z0
	VFMADD213PS Z3, Z1, Z0
	VFMADD231PS (SI), Z2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ aloop
	VZEROUPPER
	RET

// func sumShiftedAVX(x *float32, n int, k float32, sums *float32)
// sums[0:16] += x-k, sums[16:32] += (x-k)^2 (lane-wise); n a multiple of 16.
TEXT ·sumShiftedAVX(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS k+16(FP), Z1
	MOVQ sums+24(FP), DX
	VMOVUPS (DX), Z10
	VMOVUPS 64(DX), Z11
sloop:
	VMOVUPS (SI), Z0
	VSUBPS Z1, Z0, Z0
	VADDPS Z0, Z10, Z10
	VFMADD231PS Z0, Z0, Z11
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sloop
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	VZEROUPPER
	RET

// func sgdMomentumAVX(w, grad, v *float32, n int, lr, mom, wd, scale float32, nesterov bool)
// d = g*scale + wd*w; v = mom*v + d; w -= lr * (nesterov ? d + mom*v : v).
TEXT ·sgdMomentumAVX(SB), NOSPLIT, $0-49
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSS lr+32(FP), Z1
	VBROADCASTSS mom+36(FP), Z2
	VBROADCASTSS wd+40(FP), Z3
	VBROADCASTSS scale+44(FP), Z4
	MOVBLZX nesterov+48(FP), AX
mloop:
	VMOVUPS (DI), Z0
	VMULPS (SI), Z4, Z8
	VFMADD231PS Z0, Z3, Z8
	VMOVUPS (BX), Z9
	VFMADD213PS Z8, Z2, Z9
	VMOVUPS Z9, (BX)
	TESTQ AX, AX
	JEQ mplain
	VFMADD231PS Z9, Z2, Z8
	JMP mupdate
mplain:
	VMOVAPS Z9, Z8
mupdate:
	VFNMADD231PS Z8, Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, BX
	SUBQ $16, CX
	JNZ mloop
	VZEROUPPER
	RET
