//go:build turbojpeg && cgo

package data

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

// The library reports errors by calling error_exit, which must not return:
// jump back into gj_decode, never across Go frames.
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} gj_error;

static void gj_error_exit(j_common_ptr c) {
	gj_error *e = (gj_error *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// Warnings are ignored (as PIL does for stray bytes), except a file that
// ends early: that is a truncated image, an error.
static void gj_emit_message(j_common_ptr c, int level) {
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
		gj_error_exit(c);
	}
}

enum { GJ_OK = 0, GJ_ERROR = 1, GJ_NEED = 2, GJ_COLOR = 3 };

// gj_header reads the size and whether the colour space converts to RGB.
static int gj_header(const unsigned char *src, unsigned long n, int *w, int *h, char *msg) {
	struct jpeg_decompress_struct d;
	gj_error e;
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = gj_error_exit;
	e.pub.emit_message = gj_emit_message;
	if (setjmp(e.jump)) {
		strncpy(msg, e.msg, JMSG_LENGTH_MAX);
		jpeg_destroy_decompress(&d);
		return GJ_ERROR;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, src, n);
	jpeg_read_header(&d, TRUE);
	*w = d.image_width;
	*h = d.image_height;
	int cs = d.jpeg_color_space;
	jpeg_destroy_decompress(&d);
	return (cs == JCS_YCbCr || cs == JCS_GRAYSCALE || cs == JCS_RGB) ? GJ_OK : GJ_COLOR;
}

// gj_decode decodes rows [y0, y1) and columns [x0, x1) (output pixels at
// scale num/8) into dst as RGB. The columns widen to the iMCU grid; out
// gets the decoded x offset, width and height. GJ_NEED: cap is too small
// for out[1]*out[2]*3 bytes.
static int gj_decode(const unsigned char *src, unsigned long n, int num, int x0, int y0, int x1, int y1,
                     unsigned char *dst, size_t cap, int *out, char *msg) {
	struct jpeg_decompress_struct d;
	gj_error e;
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = gj_error_exit;
	e.pub.emit_message = gj_emit_message;
	if (setjmp(e.jump)) {
		strncpy(msg, e.msg, JMSG_LENGTH_MAX);
		jpeg_destroy_decompress(&d);
		return GJ_ERROR;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, src, n);
	jpeg_read_header(&d, TRUE);
	d.out_color_space = JCS_RGB;
	d.scale_num = num;
	d.scale_denom = 8;
	jpeg_start_decompress(&d);
	if (x1 > (int)d.output_width) x1 = d.output_width;
	if (y1 > (int)d.output_height) y1 = d.output_height;
	if (x0 < 0) x0 = 0;
	if (y0 < 0) y0 = 0;
	JDIMENSION xoff = x0, width = x1 - x0;
	if (width < d.output_width) {
		jpeg_crop_scanline(&d, &xoff, &width);
	}
	int rows = y1 - y0;
	out[0] = xoff;
	out[1] = width;
	out[2] = rows;
	if ((size_t)width * rows * 3 > cap) {
		jpeg_destroy_decompress(&d);
		return GJ_NEED;
	}
	if (y0 > 0) {
		jpeg_skip_scanlines(&d, y0);
	}
	for (int r = 0; r < rows;) {
		JSAMPROW row = dst + (size_t)r * width * 3;
		r += jpeg_read_scanlines(&d, &row, 1);
	}
	// Rows below the region are not needed: stop without reading them.
	jpeg_destroy_decompress(&d);
	return GJ_OK;
}
*/
import "C"

import (
	"errors"
	"math"
	"unsafe"
)

// DefaultJPEGDecoder is the decoder ImageFolder uses unless told:
// libjpeg-turbo in this build (it measured faster; see the README).
func DefaultJPEGDecoder() JPEGDecoder { return TurboJPEG{} }

// TurboJPEG decodes with libjpeg-turbo (cgo, -tags turbojpeg): only the
// rows and iMCU columns of the region, at the smallest DCT scale (see
// jpegScale) that keeps the region's scale. Colour spaces without an RGB conversion
// (CMYK) go through the standard library.
type TurboJPEG struct{}

// Name implements JPEGDecoder.
func (TurboJPEG) Name() string { return "turbo" }

// DecodeJPEG implements JPEGDecoder.
func (TurboJPEG) DecodeJPEG(src []byte, pick func(w, h int) Region, pix []uint8) (Image, View, error) {
	if len(src) == 0 {
		return Image{}, View{}, errors.New("empty file")
	}
	var msg [C.JMSG_LENGTH_MAX]C.char
	csrc, n := (*C.uchar)(unsafe.Pointer(&src[0])), C.ulong(len(src))
	var w, h C.int
	switch C.gj_header(csrc, n, &w, &h, &msg[0]) {
	case C.GJ_ERROR:
		return Image{}, View{}, errors.New(C.GoString(&msg[0]))
	case C.GJ_COLOR:
		return StdJPEG{}.DecodeJPEG(src, pick, pix)
	}
	g := pick(int(w), int(h))
	num := jpegScale(g)
	s := float64(num) / 8
	x0, y0 := int(math.Floor(float64(g.Rect.Min.X)*s)), int(math.Floor(float64(g.Rect.Min.Y)*s))
	x1, y1 := int(math.Ceil(float64(g.Rect.Max.X)*s)), int(math.Ceil(float64(g.Rect.Max.Y)*s))
	// The widest the iMCU-aligned columns can get is the whole scaled row.
	if need := 3 * int(math.Ceil(float64(w)*s)) * max(y1-y0, 1); cap(pix) < need {
		pix = make([]uint8, need)
	}
	var out [3]C.int
	for {
		var dst *C.uchar
		if cap(pix) > 0 {
			dst = (*C.uchar)(unsafe.Pointer(&pix[:1][0]))
		}
		rc := C.gj_decode(csrc, n, C.int(num), C.int(x0), C.int(y0), C.int(x1), C.int(y1), dst, C.size_t(cap(pix)), &out[0], &msg[0])
		switch rc {
		case C.GJ_ERROR:
			return Image{}, View{}, errors.New(C.GoString(&msg[0]))
		case C.GJ_NEED:
			pix = make([]uint8, 3*int(out[1])*int(out[2]))
			continue
		}
		cw, ch := int(out[1]), int(out[2])
		return Image{W: cw, H: ch, Pix: pix[:3*cw*ch]}, View{Scale: s, X: int(out[0]), Y: y0}, nil
	}
}

// jpegScale is the decode scale num/8 for region g: the smallest that
// keeps g's scale, among 1/8, 2/8, 4/8 and 8/8, the ones libjpeg-turbo
// has SIMD inverse DCTs for (the other eighths measured slower than
// decoding more pixels with them).
func jpegScale(g Region) int {
	for _, num := range []int{1, 2, 4} {
		// A hair of slack so that exact eighths do not round up.
		if float64(num)/8 >= g.Scale-1e-9 {
			return num
		}
	}
	return 8
}
