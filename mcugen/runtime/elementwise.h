#ifndef MCUGEN_ELEMENTWISE_H
#define MCUGEN_ELEMENTWISE_H

#include "mcugen_common.h"

/* ADD and MUL, int8, with NumPy-style broadcasting.
 *
 * The generator merges the output's dimensions as far as the two inputs allow
 * (a same-shape op becomes one flat run), so the kernel walks at most
 * MCUGEN_BROADCAST_MAX_DIMS dimensions: an odometer over the outer ones and a
 * plain loop over the innermost. A broadcast dimension has input stride 0. */
#define MCUGEN_BROADCAST_MAX_DIMS 6

typedef struct {
    int32_t rank;                              /* merged dimensions, 1..MCUGEN_BROADCAST_MAX_DIMS */
    int32_t outer;                             /* product of shape[0 .. rank-2] */
    int32_t shape[MCUGEN_BROADCAST_MAX_DIMS];  /* output extent per merged dimension, outermost first */
    int32_t stride1[MCUGEN_BROADCAST_MAX_DIMS]; /* input1 elements per step; 0 where it is broadcast */
    int32_t stride2[MCUGEN_BROADCAST_MAX_DIMS]; /* input2 elements per step; 0 where it is broadcast */
} mcugen_broadcast_t;

/* TFLM's quantized ADD: both inputs are scaled up by 2^left_shift, rescaled to a
 * common scale (twice the larger input scale), summed, then rescaled to the
 * output. Every multiplier here is below one (shift <= 0). */
typedef struct {
    int32_t input1_offset; /* -input1 zero point */
    int32_t input2_offset; /* -input2 zero point */
    int32_t output_offset; /* output zero point */
    int32_t left_shift;    /* 20 for int8 */
    mcugen_requant_t input1;
    mcugen_requant_t input2;
    mcugen_requant_t output;
    mcugen_act_range_t act;
    mcugen_broadcast_t bcast;
} mcugen_add_params_t;

/* TFLM's quantized MUL: (in1 + offset1) * (in2 + offset2) requantized by
 * input1_scale * input2_scale / output_scale (which may exceed one). */
typedef struct {
    int32_t input1_offset; /* -input1 zero point */
    int32_t input2_offset; /* -input2 zero point */
    int32_t output_offset; /* output zero point */
    mcugen_requant_t output;
    mcugen_act_range_t act;
    mcugen_broadcast_t bcast;
} mcugen_mul_params_t;

void mcugen_add_s8(const mcugen_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void mcugen_mul_s8(const mcugen_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif
