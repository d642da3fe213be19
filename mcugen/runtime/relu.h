#ifndef MCUGEN_RELU_H
#define MCUGEN_RELU_H

#include "mcugen_common.h"

/* Standalone RELU, RELU6 and LEAKY_RELU, int8, as TFLite Micro runs them
 * (activations.cc / activations_common.cc, leaky_relu_common.cc). */

/* RELU: requantize x - input_zero_point to the output scale, add the output
 * zero point, clamp to [max(-128, output zero point), 127]. */
typedef struct {
    int32_t size;              /* elements */
    int32_t input_zero_point;
    int32_t output_zero_point;
    mcugen_requant_t output;   /* input_scale / output_scale */
    mcugen_act_range_t act;    /* the clamp at real 0 (and int8's top) */
} mcugen_relu_params_t;

/* RELU6: TFLM clamps the raw input to [zero point, quantized 6.0] of the
 * input's own quantization, without rescaling (the output must share it). */
typedef struct {
    int32_t size;
    mcugen_act_range_t act;    /* {input zero point, quantized 6.0} */
} mcugen_relu6_params_t;

/* LEAKY_RELU: x - input_zero_point requantized by input_scale / output_scale
 * where it is >= 0, by alpha * input_scale / output_scale below, then the
 * output zero point added and the result saturated to int8. */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    mcugen_requant_t identity; /* input_scale / output_scale */
    mcugen_requant_t alpha;    /* alpha * input_scale / output_scale (alpha >= 0) */
} mcugen_leaky_relu_params_t;

void mcugen_relu_s8(const mcugen_relu_params_t *p, const int8_t *input, int8_t *output);
void mcugen_relu6_s8(const mcugen_relu6_params_t *p, const int8_t *input, int8_t *output);
void mcugen_leaky_relu_s8(const mcugen_leaky_relu_params_t *p, const int8_t *input, int8_t *output);

#endif
