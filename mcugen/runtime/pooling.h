#ifndef MCUGEN_POOLING_H
#define MCUGEN_POOLING_H

#include "mcugen_common.h"

/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 NHWC, as TFLM's reference_integer_ops.
 * Input and output share one scale and zero point (TFLM's Prepare insists),
 * so no requantization happens: only the window reduction and the fused
 * activation clamp. Windows that hang over the padded border use only the
 * input positions that exist; the average divides by that count. */
typedef struct {
    mcugen_dims_t input;  /* n, h, w, c */
    mcugen_dims_t output; /* n, oh, ow, c (same n and c) */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h; /* rows of padding before the first input row (SAME), else 0 */
    int32_t pad_w;
    mcugen_act_range_t act;
    /* Elements from one output pixel to the next: output.c, or more when the output
     * is one slice of a wider tensor (the channels of a concatenation, written in place). */
    int32_t output_stride;
} mcugen_pool_params_t;

void mcugen_avg_pool_s8(const mcugen_pool_params_t *p, const int8_t *input, int8_t *output);
void mcugen_max_pool_s8(const mcugen_pool_params_t *p, const int8_t *input, int8_t *output);

#endif
