#include "hard_swish.h"

/* TFLM does this in int16_t and stores sums back into int16_t; wrap_s16 is
 * that narrowing (two's complement wrap) written without implementation-
 * defined conversions. */
static int32_t wrap_s16(int32_t v)
{
    const uint32_t low = (uint32_t)v & 0xFFFFu;
    return low >= 0x8000u ? (int32_t)low - 0x10000 : (int32_t)low;
}

static int32_t sat_s16(int64_t v)
{
    return v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : (int32_t)v);
}

/* gemmlowp's SaturatingRoundingDoublingHighMul for int16 (SQRDMULH). */
static int32_t sat_rounding_doubling_high_mul_s16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return wrap_s16((ab + nudge) / (1 << 15));
}

/* TFLM's SaturatingDoublingHighMul: the same, truncating toward zero (SQDMULH). */
static int32_t sat_doubling_high_mul_s16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return wrap_s16((a * b) / (1 << 15));
}

/* TFLM's SaturatingLeftShift for int16. */
static int32_t sat_shift_left_s16(int32_t v, int32_t amount)
{
    return sat_s16((int64_t)v * ((int64_t)1 << amount));
}

/* gemmlowp's RoundingDivideByPOT instantiated for int16_t: the mask and the
 * sums are narrowed to int16 as there (which only matters for exponent >= 16). */
static int32_t rounding_divide_by_pot_s16(int32_t x, int32_t exponent)
{
    const int32_t mask = wrap_s16((int32_t)(((int64_t)1 << exponent) - 1));
    const int32_t remainder = wrap_s16(x & mask);
    const int32_t threshold = wrap_s16((mask >> 1) + (x < 0 ? 1 : 0));
    return wrap_s16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

void mcugen_hard_swish_s8(const mcugen_hard_swish_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        /* |x - zp| <= 255, so x * 2^7 fits int16 */
        const int32_t x = wrap_s16((int32_t)input[i] - p->input_zero_point);
        const int32_t hires = wrap_s16(x * (1 << 7));
        const int32_t preshift_output = sat_rounding_doubling_high_mul_s16(hires, p->output_multiplier);

        /* Relu-ish value: x rescaled so that +-3.0 is +-32768, saturating,
         * with the left shift split around the multiply as TFLM does. */
        int32_t reluish = hires;
        if (p->reluish_shift > 0) {
            reluish = sat_shift_left_s16(reluish, p->reluish_shift - 1);
        }
        reluish = sat_rounding_doubling_high_mul_s16(reluish, p->reluish_multiplier);
        if (p->reluish_shift > 0) {
            reluish = sat_shift_left_s16(reluish, 1);
        }
        if (p->reluish_shift < 0) {
            reluish = rounding_divide_by_pot_s16(reluish, -p->reluish_shift);
        }
        /* [-1, 1] -> [0, 1] */
        reluish = wrap_s16((reluish + (1 << 15)) >> 1);

        const int32_t preshift = sat_doubling_high_mul_s16(reluish, preshift_output);
        int32_t out = rounding_divide_by_pot_s16(preshift, -p->output_shift);
        out = wrap_s16(out + p->output_zero_point);
        output[i] = (int8_t)mcugen_clamp(out, INT8_MIN, INT8_MAX);
    }
}
