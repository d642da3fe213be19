#ifndef MCUGEN_POOLING_DSP_H
#define MCUGEN_POOLING_DSP_H

#include "mcugen_simd.h"

/* MAX_POOL_2D and AVERAGE_POOL_2D on the Arm DSP extension: the arm-dsp variants of
 * mcugen_max_pool_s8 / mcugen_avg_pool_s8 (TFLM's reference_integer_ops), with the
 * same results, four channels at a time.
 *
 * Max: SSUB8 + SEL (mcugen_max_s8x4) keeps the larger of each of four int8 lanes.
 * Average: SXTAB16 adds the even and the odd bytes of a word into two pairs of int16
 * sums (exact: a window has at most 256 taps, and 256 * -128 still fits an int16),
 * then each sum is divided as TFLM does: rounded half away from zero, by the count of
 * input positions the window covers.
 *
 * The channels go in groups of four; when their count is not a multiple of four the
 * last group starts four before the end and redoes a few channels (the same values
 * again: the output never overlaps the input). So at least four channels (the
 * generator checks). Input and output share scale and zero point, as TFLM requires. */
typedef struct {
    mcugen_dims_t input;  /* n, h, w, c; c >= 4 */
    mcugen_dims_t output; /* n, oh, ow, c */
    int32_t filter_h;
    int32_t filter_w; /* filter_h * filter_w <= 256 for the average */
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h; /* rows of padding before the first input row (SAME), else 0 */
    int32_t pad_w;
    mcugen_act_range_t act;
    /* Elements from one output pixel to the next: output.c, or more when the output
     * is one slice of a wider tensor (the channels of a concatenation, written in place). */
    int32_t output_stride;
} mcugen_pool_dsp_params_t;

void mcugen_max_pool_s8_dsp(const mcugen_pool_dsp_params_t *p, const int8_t *input, int8_t *output);
void mcugen_avg_pool_s8_dsp(const mcugen_pool_dsp_params_t *p, const int8_t *input, int8_t *output);

#endif
