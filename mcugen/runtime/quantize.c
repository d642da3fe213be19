#include "quantize.h"

#include <math.h>

void mcugen_quantize_f32_s8(const mcugen_quantize_params_t *p, const float *input, int8_t *output)
{
    /* Clamp while still in float: the rounded quotient is a whole number, and
     * comparing it against the bounds minus the zero point (small, exact
     * floats) gives TFLM's int32 clamp without converting an out-of-range float
     * (undefined in C). NaN fails both tests and lands on -128, as TFLM's
     * conversion of NaN to INT32_MIN does on x86 and Arm. */
    const float lo = (float)(-128 - p->zero_point);
    const float hi = (float)(127 - p->zero_point);
    for (int32_t i = 0; i < p->size; ++i) {
        const float r = roundf(input[i] / p->scale);
        int32_t q;
        if (!(r > lo)) {
            q = -128;
        } else if (r >= hi) {
            q = 127;
        } else {
            q = (int32_t)r + p->zero_point;
        }
        output[i] = (int8_t)q;
    }
}

static int32_t requantize_one(const mcugen_requantize_params_t *p, int32_t q)
{
    return mcugen_requantize(q + p->input_offset, p->requant.multiplier, p->requant.shift) + p->output_offset;
}

/* TFLM special-cases int8 <-> uint8 with equal scales and zero points 128 apart
 * as a sign-bit flip; the general path below gives the same bytes there (the
 * multiplier for a scale ratio of one is exact), so one path serves all. */
void mcugen_requantize_s8_s8(const mcugen_requantize_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)mcugen_clamp(requantize_one(p, input[i]), -128, 127);
    }
}

void mcugen_requantize_s8_u8(const mcugen_requantize_params_t *p, const int8_t *input, uint8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (uint8_t)mcugen_clamp(requantize_one(p, input[i]), 0, 255);
    }
}

void mcugen_requantize_u8_s8(const mcugen_requantize_params_t *p, const uint8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)mcugen_clamp(requantize_one(p, input[i]), -128, 127);
    }
}

/* TFLM multiplies in double: (float)((double)scale * (q - zp)). The product of
 * a float32 scale (24-bit significand) and an integer of at most 9 bits is
 * exact in double and correctly rounded once by the cast; float32 arithmetic
 * rounds the same exact product once too, so the float result is identical
 * and an MCU without a double FPU pays nothing extra. */
void mcugen_dequantize_s8_f32(const mcugen_dequantize_params_t *p, const int8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

void mcugen_dequantize_u8_f32(const mcugen_dequantize_params_t *p, const uint8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}
