#ifndef MCUGEN_CONV_H
#define MCUGEN_CONV_H

#include "mcugen_common.h"

/* CONV_2D, int8 activations, int8 symmetric weights (per-channel or per-tensor),
 * optional int32 bias. Matches TFLM's reference_integer_ops::ConvPerChannel:
 *
 *   acc[oc] = sum over taps inside the image and filter input channels of
 *             filter[oc][fy][fx][ic] * (input[y][x][group(oc) * filter_in_c + ic] + input_offset)
 *   out     = clamp(requant(acc + bias[oc]) + output_offset, act)
 *
 * Taps that fall outside the image are skipped (zero padding in real terms).
 * Filter layout is OHWI: [output.c][filter_h][filter_w][filter_in_c]. */
typedef struct {
    mcugen_dims_t input;  /* NHWC */
    mcugen_dims_t output; /* NHWC; output.n == input.n */
    int32_t filter_h;
    int32_t filter_w;
    /* Input channels each filter sees. Equal to input.c, or a divisor of it for
     * grouped convolution (output.c / (input.c / filter_in_c) filters per group). */
    int32_t filter_in_c;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h; /* rows of padding above the image (TFLM ComputePaddingHeightWidth) */
    int32_t pad_w; /* columns of padding left of the image */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    mcugen_act_range_t act;
    /* One entry per output channel when per_channel, else a single entry. */
    const mcugen_requant_t *requant;
    int32_t per_channel;
    /* Elements from one output pixel to the next: output.c, or more when the output
     * is one slice of a wider tensor (the channels of a concatenation, written in place). */
    int32_t output_stride;
} mcugen_conv_params_t;

void mcugen_conv_s8(const mcugen_conv_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output);

#endif
