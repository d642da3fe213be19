#ifndef MCUGEN_MEAN_H
#define MCUGEN_MEAN_H

#include "mcugen_common.h"

/* Most axes a MEAN is described with after adjacent axes of the same kind
 * (kept or reduced) are merged at generate time. */
#define MCUGEN_MEAN_MAX_AXES 4

/* MEAN over any set of axes, int8, as TFLM's reference QuantizedMeanOrSum:
 * an int32 sum of the raw int8 values, minus input_zero_point * count, then
 * one requantization whose multiplier already folds in 1/count (computed on
 * the host exactly as TFLM's Eval does), plus the output zero point.
 *
 * The input is walked as two nests of loops: `kept` axes (their row-major
 * order is the output's order) and `reduced` axes; each axis is an extent and
 * an element stride in the input. Unused slots have extent 1. */
typedef struct {
    int32_t kept_extent[MCUGEN_MEAN_MAX_AXES];
    int32_t kept_stride[MCUGEN_MEAN_MAX_AXES];
    int32_t reduced_extent[MCUGEN_MEAN_MAX_AXES];
    int32_t reduced_stride[MCUGEN_MEAN_MAX_AXES];
    int32_t zero_point_times_count; /* input zero point * elements per output, mod 2^32 */
    int32_t output_offset;          /* output zero point */
    mcugen_requant_t requant;       /* input_scale / output_scale / count */
} mcugen_mean_params_t;

void mcugen_mean_s8(const mcugen_mean_params_t *p, const int8_t *input, int8_t *output);

#endif
