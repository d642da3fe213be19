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

/* The one broadcast walk every kernel here shares: evaluates ONE(p, x1, x2)
 * for each output element in order, x1/x2 the int8 inputs it broadcasts from.
 * A macro rather than a function pointer so the per-element step inlines. */
#define BROADCAST_APPLY(ONE, p, input1, input2, output)                                        \
    do {                                                                                     \
        const mcugen_broadcast_t *b_ = &(p)->bcast;                                          \
        const int32_t inner_ = b_->shape[b_->rank - 1];                                      \
        const int32_t step1_ = b_->stride1[b_->rank - 1];                                    \
        const int32_t step2_ = b_->stride2[b_->rank - 1];                                    \
        int32_t index_[MCUGEN_BROADCAST_MAX_DIMS] = {0};                                     \
        int32_t off1_ = 0;                                                                   \
        int32_t off2_ = 0;                                                                   \
        int8_t *out_ = (output);                                                             \
        for (int32_t n_ = 0; n_ < b_->outer; ++n_) {                                         \
            for (int32_t i_ = 0; i_ < inner_; ++i_) {                                        \
                out_[i_] = ONE((p), (input1)[off1_ + i_ * step1_], (input2)[off2_ + i_ * step2_]); \
            }                                                                                \
            out_ += inner_;                                                                  \
            broadcast_next(b_, index_, &off1_, &off2_);                                      \
        }                                                                                    \
    } while (0)

/* ADD (sign 1) and SUB (sign -1): TFLM's add/sub arithmetic differs only in
 * whether the rescaled second input is added or subtracted. */
static inline int8_t add_sub_one(const mcugen_add_params_t *p, int32_t x1, int32_t x2, int32_t sign)
{
    /* |x + offset| <= 255, so the 2^20 scale-up cannot overflow int32. */
    const int32_t shifted1 = (x1 + p->input1_offset) * (1 << p->left_shift);
    const int32_t shifted2 = (x2 + p->input2_offset) * (1 << p->left_shift);
    const int32_t scaled1 = mcugen_requantize(shifted1, p->input1.multiplier, p->input1.shift);
    const int32_t scaled2 = mcugen_requantize(shifted2, p->input2.multiplier, p->input2.shift);
    /* both scaled values are below 2^28 in magnitude: no overflow either way */
    const int32_t raw = sign > 0 ? scaled1 + scaled2 : scaled1 - scaled2;
    const int32_t out = mcugen_requantize(raw, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)mcugen_clamp(out, p->act.min, p->act.max);
}

static inline int8_t add_one(const mcugen_add_params_t *p, int32_t x1, int32_t x2)
{
    return add_sub_one(p, x1, x2, 1);
}

static inline int8_t sub_one(const mcugen_add_params_t *p, int32_t x1, int32_t x2)
{
    return add_sub_one(p, x1, x2, -1);
}

void mcugen_add_s8(const mcugen_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    BROADCAST_APPLY(add_one, p, input1, input2, output);
}

void mcugen_sub_s8(const mcugen_sub_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    BROADCAST_APPLY(sub_one, p, input1, input2, output);
}

static inline int8_t mul_one(const mcugen_mul_params_t *p, int32_t x1, int32_t x2)
{
    const int32_t product = (x1 + p->input1_offset) * (x2 + p->input2_offset);
    const int32_t out = mcugen_requantize(product, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)mcugen_clamp(out, p->act.min, p->act.max);
}

void mcugen_mul_s8(const mcugen_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    BROADCAST_APPLY(mul_one, p, input1, input2, output);
}

static inline int8_t max_one(const mcugen_minmax_params_t *p, int32_t x1, int32_t x2)
{
    (void)p;
    return (int8_t)(x1 > x2 ? x1 : x2);
}

static inline int8_t min_one(const mcugen_minmax_params_t *p, int32_t x1, int32_t x2)
{
    (void)p;
    return (int8_t)(x1 < x2 ? x1 : x2);
}

void mcugen_maximum_s8(const mcugen_minmax_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    BROADCAST_APPLY(max_one, p, input1, input2, output);
}

void mcugen_minimum_s8(const mcugen_minmax_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    BROADCAST_APPLY(min_one, p, input1, input2, output);
}
