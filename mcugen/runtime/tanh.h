#ifndef MCUGEN_TANH_H
#define MCUGEN_TANH_H

#include "mcugen_common.h"

/* TANH, int8, as TFLM's reference_integer_ops::Tanh: the input is rescaled to
 * Q4.27 exactly as for LOGISTIC (same multiplier, shift and saturation
 * radius), gemmlowp's fixed-point tanh gives Q0.31, which is rounded to units
 * of 1/128 with zero point 0 (TFLM writes that whatever the output tensor
 * says; the generator requires zero point 0). */
typedef struct {
    int32_t size;               /* elements */
    int32_t input_zero_point;
    int32_t input_range_radius; /* |x - zp| at which the output saturates */
    int32_t input_multiplier;   /* input_scale * 2^27 as multiplier ... */
    int32_t input_shift;        /* ... and shift (MultiplyByQuantizedMultiplier convention) */
} mcugen_tanh_params_t;

void mcugen_tanh_s8(const mcugen_tanh_params_t *p, const int8_t *input, int8_t *output);

#endif
