#include "elementwise_dsp.h"

/* The layer's constants, loaded once into registers for the loops. */
typedef struct {
    int32_t small_offset;
    int32_t small_multiplier;
    int32_t small_round;
    int32_t small_shift;
    int32_t big_offset;
    int32_t output_multiplier;
    int32_t output_bias;
    int32_t output_shift;
} add_constants_t;

/* One output before the clamp: TFLM's value + zero point. `form` is a constant at
 * each use (MCUGEN_ADD_DSP_*), so each loop gets its signs as plain add / subtract. */
static MCUGEN_ALWAYS_INLINE int32_t add_one(const add_constants_t *k, int32_t small, int32_t big, int form)
{
    /* (x + offset) * 2^21 as an int32 multiply, which is one shifted add */
    const int32_t t = k->small_offset + small * (1 << 21);
    const int32_t rs = mcugen_smmlar(t, k->small_multiplier, k->small_round + (t >> 31));
    const int32_t twice_small = (rs >> k->small_shift) * 2;
    const int32_t twice_big = form == MCUGEN_ADD_DSP_SMALL_MINUS_BIG ? k->big_offset - big * (1 << 20)
                                                                     : k->big_offset + big * (1 << 20);
    const int32_t twice_sum = form == MCUGEN_ADD_DSP_BIG_MINUS_SMALL ? twice_big - twice_small
                                                                     : twice_big + twice_small;
    const int32_t ro = mcugen_smmlar(twice_sum, k->output_multiplier, k->output_bias + (twice_sum >> 31));
    return ro >> k->output_shift;
}

/* One innermost run of n outputs, clamped to int8 (SSAT). One function per form,
 * so that each loop has all of the core's registers to itself. */
#define ADD_RUN(name, form)                                                                              \
    static void name(const add_constants_t *k, const int8_t *small, const int8_t *big, int8_t *out,      \
                     int32_t n)                                                                          \
    {                                                                                                    \
        const add_constants_t c = *k;                                                                    \
        int8_t *const end = out + n;                                                                     \
        while (out != end) {                                                                             \
            *out++ = (int8_t)mcugen_ssat8(add_one(&c, *small++, *big++, form));                          \
        }                                                                                                \
    }
ADD_RUN(run_sum, MCUGEN_ADD_DSP_SUM)
ADD_RUN(run_big_minus_small, MCUGEN_ADD_DSP_BIG_MINUS_SMALL)
ADD_RUN(run_small_minus_big, MCUGEN_ADD_DSP_SMALL_MINUS_BIG)

/* A fused activation narrower than int8 (RELU, RELU6, ...), as a second pass over
 * the run: four outputs per SIMD max and min. */
static void clamp_run(int8_t *out, int32_t n, mcugen_act_range_t act)
{
    const uint32_t lo = 0x01010101u * (uint8_t)act.min;
    const uint32_t hi = 0x01010101u * (uint8_t)act.max;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        mcugen_write_u32(out + i, mcugen_min_s8x4(mcugen_max_s8x4(mcugen_read_u32(out + i), lo), hi));
    }
    for (; i < n; ++i) {
        out[i] = (int8_t)mcugen_clamp(out[i], act.min, act.max);
    }
}

/* The odometer over the outer dimensions, as in elementwise.c. */
static void next_run(const mcugen_broadcast_t *b, int32_t *index, int32_t *off1, int32_t *off2)
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

typedef void (*run_fn)(const add_constants_t *k, const int8_t *small, const int8_t *big, int8_t *out, int32_t n);

/* Every innermost run of the broadcast walk through `run`, then the clamp. */
static void add_walk(const mcugen_add_dsp_params_t *p, const int8_t *small, const int8_t *big, int8_t *output,
                     run_fn run)
{
    const add_constants_t k = {p->small_offset, p->small_multiplier, p->small_round, p->small_shift,
                               p->big_offset, p->output_multiplier, p->output_bias, p->output_shift};
    const mcugen_broadcast_t *b = &p->bcast;
    const int32_t inner = b->shape[b->rank - 1];
    /* SSAT is the whole clamp when the activation leaves all of int8 */
    const int clamp = p->act.min > -128 || p->act.max < 127;
    int32_t index[MCUGEN_BROADCAST_MAX_DIMS] = {0};
    int32_t off_small = 0, off_big = 0;
    for (int32_t n = 0; n < b->outer; ++n) {
        run(&k, small + off_small, big + off_big, output, inner);
        if (clamp) {
            clamp_run(output, inner, p->act);
        }
        output += inner;
        next_run(b, index, &off_small, &off_big);
    }
}

/* Two entry points, so that a model without SUB links no SUB loop. */
void mcugen_add_s8_dsp(const mcugen_add_dsp_params_t *p, const int8_t *small, const int8_t *big, int8_t *output)
{
    add_walk(p, small, big, output, run_sum);
}

void mcugen_sub_s8_dsp(const mcugen_add_dsp_params_t *p, const int8_t *small, const int8_t *big, int8_t *output)
{
    add_walk(p, small, big, output,
             p->form == MCUGEN_ADD_DSP_BIG_MINUS_SMALL ? run_big_minus_small : run_small_minus_big);
}
