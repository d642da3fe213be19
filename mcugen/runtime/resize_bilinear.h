#ifndef MCUGEN_RESIZE_BILINEAR_H
#define MCUGEN_RESIZE_BILINEAR_H

#include "mcugen_common.h"

/* RESIZE_BILINEAR, int8, NHWC: TFLM's integer-only ResizeBilinearInteger.
 * Positions are in 1/1024ths of an input pixel. Which two input rows (columns)
 * an output row (column) blends, and with what weight, depends only on the
 * sizes and the align_corners / half_pixel_centers flags, so the generator
 * evaluates TFLM's ComputeInterpolationValuesInteger once per output row and
 * column and bakes the taps. Per channel:
 *
 *   s   = v(lo_y, lo_x) * (1024 - fy) * (1024 - fx) + v(hi_y, lo_x) * fy * (1024 - fx)
 *       + v(lo_y, hi_x) * (1024 - fy) * fx          + v(hi_y, hi_x) * fy * fx
 *   out = (s + (s > 0 ? 2^19 : -2^19)) / 2^20      (C division, toward zero)
 *
 * |s| < 2^29 (|v| <= 128 and |1024 - f| + |f| <= 2048: f is in [-512, 1024),
 * checked by the generator), so int32 holds it exactly. No requantization:
 * TFLM interpolates the raw codes and the output shares the input's scale. */
typedef struct {
    int32_t lo;   /* input offset of the lower row (in_y * in_width * depth) or column (in_x * depth) */
    int32_t hi;   /* same for the upper row or column */
    int32_t frac; /* weight of `hi` in 1/1024ths; `lo` weighs 1024 - frac */
} mcugen_bilinear_tap_t;

typedef struct {
    int32_t batches;
    int32_t out_height;
    int32_t out_width;
    int32_t depth;
    int32_t in_batch_stride;          /* in_height * in_width * depth */
    const mcugen_bilinear_tap_t *row; /* out_height entries */
    const mcugen_bilinear_tap_t *col; /* out_width entries */
} mcugen_resize_bilinear_params_t;

void mcugen_resize_bilinear_s8(const mcugen_resize_bilinear_params_t *p, const int8_t *input, int8_t *output);

#endif
