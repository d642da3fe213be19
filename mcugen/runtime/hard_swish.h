#ifndef MCUGEN_HARD_SWISH_H
#define MCUGEN_HARD_SWISH_H

#include "mcugen_common.h"

/* HARD_SWISH, int8: x * relu6(x + 3) / 6, computed as TFLM's
 * reference_ops::HardSwish does, in 16-bit fixed point: the input (on a 2^7
 * finer "hires" scale) is multiplied once onto the output scale and once onto
 * a "relu-ish" scale where 3.0 is 32768; the latter, mapped to [0, 1], scales
 * the former. Multipliers are TFLM's int16 ones (DownScaleInt32ToInt16Multiplier). */
typedef struct {
    int32_t size; /* elements */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier; /* int16 fixed-point multiplier, hires input -> output scale */
    int32_t output_shift;      /* its exponent, <= 0 */
    int32_t reluish_multiplier; /* int16 fixed-point multiplier, hires input -> relu-ish scale */
    int32_t reluish_shift;      /* its exponent, either sign */
} mcugen_hard_swish_params_t;

void mcugen_hard_swish_s8(const mcugen_hard_swish_params_t *p, const int8_t *input, int8_t *output);

#endif
