#ifndef MCUGEN_SOFTMAX_H
#define MCUGEN_SOFTMAX_H

#include "mcugen_common.h"

/* SOFTMAX over the last axis, int8 input, as TFLM's reference_ops::Softmax:
 * differences from the row maximum are scaled by beta * input_scale into
 * Q5.26, exponentiated with gemmlowp's fixed-point exp, summed in Q12.19,
 * and each exp is multiplied by the fixed-point reciprocal of the sum.
 * Output scale is 1/256 (int8, zero point -128) or 1/65536 (int16, zero
 * point -32768), which TFLM's Prepare requires. */
typedef struct {
    int32_t outer;            /* rows: every dimension but the last, flattened */
    int32_t depth;            /* the last dimension */
    int32_t input_multiplier; /* beta * input_scale * 2^26, as a Q31 multiplier ... */
    int32_t input_left_shift; /* ... and its left shift (PreprocessSoftmaxScaling) */
    int32_t diff_min;         /* differences below this contribute exactly 0 */
} mcugen_softmax_params_t;

void mcugen_softmax_s8(const mcugen_softmax_params_t *p, const int8_t *input, int8_t *output);
void mcugen_softmax_s8_s16(const mcugen_softmax_params_t *p, const int8_t *input, int16_t *output);

#endif
