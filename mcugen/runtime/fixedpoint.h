/* mcugen runtime: gemmlowp-style fixed-point arithmetic on raw int32 values.
 *
 * TFLite Micro's int8 SOFTMAX and LOGISTIC evaluate exp() and 1/(1+x) with
 * gemmlowp's FixedPoint<int32_t, IntegerBits> templates. These functions
 * compute the same integers on plain int32 "raw" values, with the number of
 * integer bits passed explicitly, so the results match TFLM bit for bit.
 *
 * Header-only (static inline) so a generated project needs no extra source.
 * gemmlowp's non-saturating add/sub/neg would be signed overflow in C; they
 * never overflow for the ranges these kernels feed them, but are done on
 * uint32 anyway so the code stays defined under -fsanitize=undefined.
 */
#ifndef MCUGEN_FIXEDPOINT_H
#define MCUGEN_FIXEDPOINT_H

#include "mcugen_common.h"

/* Wrapping int32 add / subtract / negate (gemmlowp's Add, Sub, Neg). */
static inline int32_t mcugen_fp_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t mcugen_fp_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t mcugen_fp_neg(int32_t a)
{
    return (int32_t)(0u - (uint32_t)a);
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0: a
 * left shift that saturates to INT32_MIN / INT32_MAX. Also what Rescale<> does
 * when it removes integer bits. */
static inline int32_t mcugen_fp_sat_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Rescale<dst_bits>(FixedPoint<int32, src_bits>): change the number of integer
 * bits, shifting left (saturating) or right (rounding) as gemmlowp does. */
static inline int32_t mcugen_fp_rescale(int32_t x, int32_t src_integer_bits, int32_t dst_integer_bits)
{
    const int32_t exponent = src_integer_bits - dst_integer_bits;
    if (exponent > 0) {
        return mcugen_fp_sat_shift_left(x, exponent);
    }
    if (exponent < 0) {
        return mcugen_rounding_divide_by_pot(x, -exponent);
    }
    return x;
}

/* gemmlowp's RoundingHalfSum: (a + b) / 2 rounded half away from zero. */
static inline int32_t mcugen_fp_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* The value 1.0 in a format with no integer bits: 1.0 itself is not
 * representable, gemmlowp's One() is the largest raw value. */
#define MCUGEN_FP_ONE_Q0 INT32_MAX

/* exp(a) for a in [-1/4, 0), a and result with 0 integer bits (Q0.31):
 * a 4th-order Taylor expansion around -1/8. */
static inline int32_t mcugen_fp_exp_on_interval_neg_quarter_to_0(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = mcugen_fp_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = mcugen_sat_rounding_doubling_high_mul(x, x);
    const int32_t x3 = mcugen_sat_rounding_doubling_high_mul(x2, x);
    const int32_t x4 = mcugen_sat_rounding_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = mcugen_rounding_divide_by_pot(x4, 2);
    const int32_t poly = mcugen_rounding_divide_by_pot(
        mcugen_fp_add(mcugen_sat_rounding_doubling_high_mul(mcugen_fp_add(x4_over_4, x3), one_third), x2), 1);
    return mcugen_fp_add(exp_minus_one_eighth,
                         mcugen_sat_rounding_doubling_high_mul(exp_minus_one_eighth, mcugen_fp_add(x, poly)));
}

/* exp(a) for a <= 0, a with `integer_bits` integer bits (0..30), result in
 * Q0.31: exp of the fractional quarter by polynomial, then one multiply by
 * exp(-2^k) per set bit of the remaining whole quarters (gemmlowp's barrel
 * shifter). */
static inline int32_t mcugen_fp_exp_on_negative_values(int32_t a, int32_t integer_bits)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
    static const int32_t exp_neg_pot[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = mcugen_fp_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = mcugen_fp_exp_on_interval_neg_quarter_to_0(
        mcugen_fp_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    const int32_t remainder = mcugen_fp_sub(a_mod_quarter_minus_one_quarter, a);
    for (int32_t k = -2; k <= 4; ++k) {
        if (integer_bits > k) {
            const int32_t bit = fractional_bits + k;
            if (remainder & (int32_t)((uint32_t)1 << bit)) {
                result = mcugen_sat_rounding_doubling_high_mul(result, exp_neg_pot[k + 2]);
            }
        }
    }
    if (integer_bits > 5) {
        /* Below -32 the result is exactly 0. */
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = MCUGEN_FP_ONE_Q0;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), a and result in Q0.31: three Newton-Raphson
 * steps from the 48/17 - 32/17 * d starting guess, in Q2.29. */
static inline int32_t mcugen_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t q2_48_over_17 = 1515870810;
    const int32_t q2_neg_32_over_17 = -1010580540;
    const int32_t q2_one = (int32_t)1 << 29;
    const int32_t half_denominator = mcugen_fp_rounding_half_sum(a, MCUGEN_FP_ONE_Q0);
    int32_t x = mcugen_fp_add(q2_48_over_17, mcugen_sat_rounding_doubling_high_mul(half_denominator, q2_neg_32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = mcugen_sat_rounding_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = mcugen_fp_sub(q2_one, half_denominator_times_x);
        /* x * one_minus is Q4.27; back to Q2.29 */
        x = mcugen_fp_add(x, mcugen_fp_rescale(mcugen_sat_rounding_doubling_high_mul(x, one_minus), 4, 2));
    }
    /* x / 2, reinterpreted Q2.29 -> Q1.30, then rescaled to Q0.31 */
    return mcugen_fp_rescale(x, 1, 0);
}

/* logistic(a) = 1 / (1 + exp(-a)), a with `integer_bits` integer bits, result
 * in Q0.31 (gemmlowp::logistic). */
static inline int32_t mcugen_fp_logistic(int32_t a, int32_t integer_bits)
{
    const int32_t abs_a = a > 0 ? a : mcugen_fp_neg(a);
    const int32_t if_positive = mcugen_fp_one_over_one_plus_x_for_x_in_0_1(
        mcugen_fp_exp_on_negative_values(mcugen_fp_neg(abs_a), integer_bits));
    if (a == 0) {
        return (int32_t)1 << 30; /* one half */
    }
    return a > 0 ? if_positive : mcugen_fp_sub(MCUGEN_FP_ONE_Q0, if_positive);
}

#endif /* MCUGEN_FIXEDPOINT_H */
