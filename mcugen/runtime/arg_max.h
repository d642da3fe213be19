#ifndef MCUGEN_ARG_MAX_H
#define MCUGEN_ARG_MAX_H

#include "mcugen_common.h"

/* ARG_MAX, int8 input, int32 output (the only output type TFLM micro
 * implements). The input is viewed as [outer][axis_size][inner]; for every
 * (outer, inner) the output holds the index along the axis of the largest
 * value, the first one on ties (TFLM compares with a strict greater-than, so a
 * later equal value never replaces an earlier one). Quantization does not
 * matter: the int8 codes order exactly as the real values they stand for. */
typedef struct {
    int32_t outer;
    int32_t axis_size;
    int32_t inner;
} mcugen_arg_max_params_t;

void mcugen_arg_max_s8(const mcugen_arg_max_params_t *p, const int8_t *input, int32_t *output);

#endif
