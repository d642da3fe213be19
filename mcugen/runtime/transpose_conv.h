#ifndef MCUGEN_TRANSPOSE_CONV_H
#define MCUGEN_TRANSPOSE_CONV_H

#include "mcugen_common.h"

/* TRANSPOSE_CONV, int8 activations, int8 symmetric weights (per-channel or
 * per-tensor), optional int32 bias: TFLM's reference_integer_ops::TransposeConv.
 *
 * TFLM scatters every input pixel into an int32 scratch copy of the output:
 * input (iy, ix) adds filter tap (fy, fx) into output (iy * stride_h - pad_h + fy,
 * ix * stride_w - pad_w + fx). This kernel gathers instead, needing no scratch:
 * output (oy, ox) sums, over the taps with oy + pad_h - fy a non-negative
 * multiple of stride_h (iy = that / stride_h < in height) and likewise along x,
 *
 *   acc[oc] = sum over ic of filter[oc][fy][fx][ic] * (input[iy][ix][ic] + input_offset)
 *   out     = clamp(requant(acc + bias[oc]) + output_offset, act)
 *
 * The same products are added, only in another order; integer addition
 * (wrapping, as TFLM's int32 accumulator does on hardware) does not care.
 * Filter layout is OHWI: [output.c][filter_h][filter_w][input.c]. */
typedef struct {
    mcugen_dims_t input;  /* NHWC */
    mcugen_dims_t output; /* NHWC; output.n == input.n */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h; /* TFLM ComputePaddingHeightWidth on the output size */
    int32_t pad_w;
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    mcugen_act_range_t act;
    /* One entry per output channel when per_channel, else a single entry. */
    const mcugen_requant_t *requant;
    int32_t per_channel;
} mcugen_transpose_conv_params_t;

void mcugen_transpose_conv_s8(const mcugen_transpose_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output);

#endif
