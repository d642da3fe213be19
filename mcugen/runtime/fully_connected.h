#ifndef MCUGEN_FULLY_CONNECTED_H
#define MCUGEN_FULLY_CONNECTED_H

#include "mcugen_common.h"

/* FULLY_CONNECTED, int8: out[b][u] = requant(sum_d (w[u][d] + weights_offset)
 * * (in[b][d] + input_offset) + bias[u]) + output_offset, then clamped. */
typedef struct {
    int32_t batches;      /* rows of the input, flattened */
    int32_t accum_depth;  /* input features */
    int32_t output_depth; /* units */
    int32_t input_offset; /* -input zero point */
    int32_t weights_offset; /* -weights zero point (0 for symmetric weights) */
    int32_t output_offset;  /* output zero point */
    mcugen_act_range_t act;
    /* One entry per unit when per_channel, else a single entry. */
    const mcugen_requant_t *requant;
    int32_t per_channel;
} mcugen_fully_connected_params_t;

void mcugen_fully_connected_s8(const mcugen_fully_connected_params_t *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias, int8_t *output);

#endif
