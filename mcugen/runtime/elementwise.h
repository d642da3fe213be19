#ifndef MCUGEN_ELEMENTWISE_H
#define MCUGEN_ELEMENTWISE_H

#include "mcugen_common.h"

/* ADD, SUB, MUL, MAXIMUM and MINIMUM, int8, with NumPy-style broadcasting.
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

/* TFLM's quantized SUB is ADD's arithmetic with the rescaled second input
 * subtracted (sub_common.cc computes the same multipliers as add_common.cc). */
typedef mcugen_add_params_t mcugen_sub_params_t;

/* MAXIMUM / MINIMUM: TFLM compares the raw int8 values (there is no Prepare and
 * no rescaling); the generator only accepts inputs and output that share one
 * quantization, where that is also the right real-valued answer. */
typedef struct {
    mcugen_broadcast_t bcast;
} mcugen_minmax_params_t;

void mcugen_add_s8(const mcugen_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void mcugen_sub_s8(const mcugen_sub_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void mcugen_maximum_s8(const mcugen_minmax_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void mcugen_minimum_s8(const mcugen_minmax_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void mcugen_mul_s8(const mcugen_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif
