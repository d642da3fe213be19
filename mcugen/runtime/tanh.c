#include "tanh.h"

#include "fixedpoint.h"

#define INPUT_INTEGER_BITS 4
#define OUTPUT_FRACTIONAL_BITS 7 /* output units of 1/128 */

/* gemmlowp's one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a) for a
 * in [0, 1], a and result Q0.31. The Newton-Raphson reciprocal is the one
 * mcugen_fp_one_over_one_plus_x_for_x_in_0_1 uses; only the last step differs
 * (x - 1 instead of x / 2), so it is repeated here rather than shared. */
static int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    const int32_t q2_48_over_17 = 1515870810;
    const int32_t q2_neg_32_over_17 = -1010580540;
    const int32_t q2_one = (int32_t)1 << 29;
    const int32_t half_denominator = mcugen_fp_rounding_half_sum(a, MCUGEN_FP_ONE_Q0);
    int32_t x = mcugen_fp_add(q2_48_over_17, mcugen_sat_rounding_doubling_high_mul(half_denominator, q2_neg_32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = mcugen_sat_rounding_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = mcugen_fp_sub(q2_one, half_denominator_times_x);
        x = mcugen_fp_add(x, mcugen_fp_rescale(mcugen_sat_rounding_doubling_high_mul(x, one_minus), 4, 2));
    }
    /* 1/(1+a) in Q2.29 minus one is (1-a)/(1+a); Q2.29 -> Q0.31 saturates */
    return mcugen_fp_rescale(mcugen_fp_sub(x, q2_one), 2, 0);
}

/* gemmlowp::tanh on a Q4.27 raw value, result Q0.31: for n = -|a|,
 * -tanh(n) = (1 - exp(2n)) / (1 + exp(2n)). 2n keeps n's raw bits read with
 * one more integer bit (gemmlowp's ExactMulByPot<1>). */
static int32_t fp_tanh_q4(int32_t a)
{
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : mcugen_fp_neg(a);
    const int32_t t = one_minus_x_over_one_plus_x(mcugen_fp_exp_on_negative_values(n, INPUT_INTEGER_BITS + 1));
    return a < 0 ? mcugen_fp_neg(t) : t;
}

void mcugen_tanh_s8(const mcugen_tanh_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t x_q4 = mcugen_requantize(x, p->input_multiplier, p->input_shift);
            const int32_t y_q0 = fp_tanh_q4(x_q4);
            const int32_t y = mcugen_rounding_divide_by_pot(y_q0, 31 - OUTPUT_FRACTIONAL_BITS);
            output[i] = (int8_t)mcugen_clamp(y, INT8_MIN, INT8_MAX);
        }
    }
}
