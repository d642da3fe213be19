#ifndef MCUGEN_LOGISTIC_H
#define MCUGEN_LOGISTIC_H

#include "mcugen_common.h"

/* LOGISTIC (sigmoid), int8, as TFLM's reference_integer_ops::Logistic: the
 * input is rescaled to Q4.27, gemmlowp's fixed-point logistic gives Q0.31,
 * which is rounded to the output scale 1/256 with zero point -128 (the only
 * output quantization TFLM accepts). Inputs beyond +-input_range_radius
 * saturate directly. */
typedef struct {
    int32_t size;               /* elements */
    int32_t input_zero_point;
    int32_t input_range_radius; /* |x - zp| at which the output saturates */
    int32_t input_multiplier;   /* input_scale * 2^27 as multiplier ... */
    int32_t input_shift;        /* ... and shift (MultiplyByQuantizedMultiplier convention) */
} mcugen_logistic_params_t;

void mcugen_logistic_s8(const mcugen_logistic_params_t *p, const int8_t *input, int8_t *output);

#endif
