#include "elementwise.h"

/* Odometer step over the outer dimensions (all but the innermost): moves the
 * two input offsets to the start of the next innermost run. */
static void broadcast_next(const mcugen_broadcast_t *b, int32_t *index, int32_t *off1, int32_t *off2)
{
    for (int32_t d = b->rank - 2; d >= 0; --d) {
        *off1 += b->stride1[d];
        *off2 += b->stride2[d];
        if (++index[d] < b->shape[d]) {
            return;
        }
        index[d] = 0;
        *off1 -= b->stride1[d] * b->shape[d];
        *off2 -= b->stride2[d] * b->shape[d];
    }
}

static int8_t add_one(const mcugen_add_params_t *p, int32_t x1, int32_t x2)
{
    /* |x + offset| <= 255, so the 2^20 scale-up cannot overflow int32. */
    const int32_t shifted1 = (x1 + p->input1_offset) * (1 << p->left_shift);
    const int32_t shifted2 = (x2 + p->input2_offset) * (1 << p->left_shift);
    const int32_t scaled1 = mcugen_requantize(shifted1, p->input1.multiplier, p->input1.shift);
    const int32_t scaled2 = mcugen_requantize(shifted2, p->input2.multiplier, p->input2.shift);
    const int32_t sum = scaled1 + scaled2;
    const int32_t out = mcugen_requantize(sum, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)mcugen_clamp(out, p->act.min, p->act.max);
}

void mcugen_add_s8(const mcugen_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const mcugen_broadcast_t *b = &p->bcast;
    const int32_t inner = b->shape[b->rank - 1];
    const int32_t step1 = b->stride1[b->rank - 1];
    const int32_t step2 = b->stride2[b->rank - 1];
    int32_t index[MCUGEN_BROADCAST_MAX_DIMS] = {0};
    int32_t off1 = 0;
    int32_t off2 = 0;
    for (int32_t n = 0; n < b->outer; ++n) {
        for (int32_t i = 0; i < inner; ++i) {
            output[i] = add_one(p, input1[off1 + i * step1], input2[off2 + i * step2]);
        }
        output += inner;
        broadcast_next(b, index, &off1, &off2);
    }
}

static int8_t mul_one(const mcugen_mul_params_t *p, int32_t x1, int32_t x2)
{
    const int32_t product = (x1 + p->input1_offset) * (x2 + p->input2_offset);
    const int32_t out = mcugen_requantize(product, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)mcugen_clamp(out, p->act.min, p->act.max);
}

void mcugen_mul_s8(const mcugen_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const mcugen_broadcast_t *b = &p->bcast;
    const int32_t inner = b->shape[b->rank - 1];
    const int32_t step1 = b->stride1[b->rank - 1];
    const int32_t step2 = b->stride2[b->rank - 1];
    int32_t index[MCUGEN_BROADCAST_MAX_DIMS] = {0};
    int32_t off1 = 0;
    int32_t off2 = 0;
    for (int32_t n = 0; n < b->outer; ++n) {
        for (int32_t i = 0; i < inner; ++i) {
            output[i] = mul_one(p, input1[off1 + i * step1], input2[off2 + i * step2]);
        }
        output += inner;
        broadcast_next(b, index, &off1, &off2);
    }
}
