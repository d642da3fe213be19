#include "softmax.h"

#include "fixedpoint.h"

/* Fixed-point formats of TFLM's reference: the scaled differences have 5
 * integer bits, the running sum of exps 12. */
#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

/* What one row needs before its outputs can be written. */
typedef struct {
    int32_t max;      /* largest input of the row */
    int32_t scale;    /* 1 / sum of exps, Q0.31 */
    int32_t exponent; /* right shift that lands the product on the output scale */
} row_state_t;

/* exp(beta * input_scale * diff) in Q0.31 for diff = x - max >= diff_min.
 * The left shift cannot overflow: diff_min bounds |diff| << shift below 2^31. */
static int32_t exp_of_diff(const mcugen_softmax_params_t *p, int32_t diff)
{
    const int32_t shifted = (int32_t)((uint32_t)diff << p->input_left_shift);
    const int32_t scaled = mcugen_sat_rounding_doubling_high_mul(shifted, p->input_multiplier);
    return mcugen_fp_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS);
}

/* TFLM's GetReciprocal: 1 / sum as a Q0.31 value, and the number of bits by
 * which sum (Q12.19) exceeds 1.0. */
static int32_t reciprocal(int32_t sum, int32_t *num_bits_over_unit)
{
    int32_t headroom_plus_one = 0; /* count of leading zeros */
    while (headroom_plus_one < 31 && !((uint32_t)sum & (0x80000000u >> headroom_plus_one))) {
        ++headroom_plus_one;
    }
    *num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
    const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum << headroom_plus_one) - 0x80000000u);
    return mcugen_fp_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

static row_state_t prepare_row(const mcugen_softmax_params_t *p, const int8_t *row, int32_t output_bits)
{
    row_state_t s;
    s.max = INT8_MIN;
    for (int32_t c = 0; c < p->depth; ++c) {
        s.max = row[c] > s.max ? row[c] : s.max;
    }
    /* The maximum itself contributes exp(0) = 1.0, so the sum is never 0. */
    int32_t sum = 0;
    for (int32_t c = 0; c < p->depth; ++c) {
        const int32_t diff = (int32_t)row[c] - s.max;
        if (diff >= p->diff_min) {
            sum = mcugen_fp_add(sum, mcugen_fp_rescale(exp_of_diff(p, diff), 0, ACCUM_INTEGER_BITS));
        }
    }
    int32_t num_bits_over_unit;
    s.scale = reciprocal(sum, &num_bits_over_unit);
    s.exponent = num_bits_over_unit + 31 - output_bits;
    /* Only a row of more than 256 near-equal maxima gets here with int8
     * output; TFLM stops with a failed check, mcugen keeps the shift defined. */
    s.exponent = s.exponent > 31 ? 31 : s.exponent;
    return s;
}

/* The probability of one element, offset by out_min (the output zero point)
 * and clamped to [out_min, out_max]. */
static int32_t element_output(const mcugen_softmax_params_t *p, const row_state_t *s, int32_t x, int32_t out_min,
                              int32_t out_max)
{
    const int32_t diff = x - s->max;
    if (diff < p->diff_min) {
        return out_min;
    }
    const int32_t prob = mcugen_sat_rounding_doubling_high_mul(s->scale, exp_of_diff(p, diff));
    return mcugen_clamp(mcugen_rounding_divide_by_pot(prob, s->exponent) + out_min, out_min, out_max);
}

void mcugen_softmax_s8(const mcugen_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *row = input + i * p->depth;
        int8_t *out = output + i * p->depth;
        const row_state_t s = prepare_row(p, row, 8);
        for (int32_t c = 0; c < p->depth; ++c) {
            out[c] = (int8_t)element_output(p, &s, row[c], INT8_MIN, INT8_MAX);
        }
    }
}

void mcugen_softmax_s8_s16(const mcugen_softmax_params_t *p, const int8_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *row = input + i * p->depth;
        int16_t *out = output + i * p->depth;
        const row_state_t s = prepare_row(p, row, 16);
        for (int32_t c = 0; c < p->depth; ++c) {
            out[c] = (int16_t)element_output(p, &s, row[c], INT16_MIN, INT16_MAX);
        }
    }
}
