#ifndef MCUGEN_QUANTIZE_H
#define MCUGEN_QUANTIZE_H

#include "mcugen_common.h"

/* QUANTIZE and DEQUANTIZE at a model's edges, as TFLM's reference computes them.
 *
 * float32 -> int8: TFLM's AffineQuantize, in float32: round(x / scale) (halves
 * away from zero) + zero_point, clamped to int8.
 * int8/uint8 -> int8/uint8: TFLM's Requantize: (q - input_zp) times the
 * quantized multiplier for input_scale / output_scale, + output_zp, clamped.
 * int8/uint8 -> float32: scale * (q - zero_point). */
typedef struct {
    int32_t size;       /* elements */
    float scale;        /* output scale */
    int32_t zero_point; /* output zero point */
} mcugen_quantize_params_t;

typedef struct {
    int32_t size;          /* elements */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    mcugen_requant_t requant;
} mcugen_requantize_params_t;

typedef struct {
    int32_t size;       /* elements */
    float scale;        /* input scale */
    int32_t zero_point; /* input zero point */
} mcugen_dequantize_params_t;

void mcugen_quantize_f32_s8(const mcugen_quantize_params_t *p, const float *input, int8_t *output);
void mcugen_requantize_s8_s8(const mcugen_requantize_params_t *p, const int8_t *input, int8_t *output);
void mcugen_requantize_s8_u8(const mcugen_requantize_params_t *p, const int8_t *input, uint8_t *output);
void mcugen_requantize_u8_s8(const mcugen_requantize_params_t *p, const uint8_t *input, int8_t *output);
void mcugen_dequantize_s8_f32(const mcugen_dequantize_params_t *p, const int8_t *input, float *output);
void mcugen_dequantize_u8_f32(const mcugen_dequantize_params_t *p, const uint8_t *input, float *output);

#endif
