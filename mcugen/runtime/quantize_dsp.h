#ifndef MCUGEN_QUANTIZE_DSP_H
#define MCUGEN_QUANTIZE_DSP_H

#include "mcugen_simd.h"

/* The 8-bit QUANTIZE (int8 -> int8, int8 -> uint8, uint8 -> int8) as one table
 * lookup per value: the arm-dsp variants of mcugen_requantize_s8_s8 / _s8_u8 /
 * _u8_s8, with the same results.
 *
 * The input is one of 256 byte values, so the generator runs TFLM's Requantize (the
 * portable kernel's arithmetic, mirrored exactly) on each of them once and bakes
 * the 256 output bytes; the kernel reads four input bytes per word and writes four
 * output bytes per word. */
typedef struct {
    int32_t size;         /* elements */
    const uint8_t *table; /* 256 output bytes (their bit patterns), by input byte */
} mcugen_requantize_dsp_params_t;

void mcugen_requantize_s8_s8_dsp(const mcugen_requantize_dsp_params_t *p, const int8_t *input, int8_t *output);
void mcugen_requantize_s8_u8_dsp(const mcugen_requantize_dsp_params_t *p, const int8_t *input, uint8_t *output);
void mcugen_requantize_u8_s8_dsp(const mcugen_requantize_dsp_params_t *p, const uint8_t *input, int8_t *output);

#endif
