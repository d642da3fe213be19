#include "resize_bilinear.h"

/* TFLM's double-rounding build: add half (away from zero), then divide, which truncates. */
static int8_t bilinear_round(int32_t s)
{
    const int32_t half = (int32_t)1 << 19;
    return (int8_t)((s + (s > 0 ? half : -half)) / ((int32_t)1 << 20));
}

void mcugen_resize_bilinear_s8(const mcugen_resize_bilinear_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *batch = input + b * p->in_batch_stride;
        for (int32_t y = 0; y < p->out_height; ++y) {
            const mcugen_bilinear_tap_t ty = p->row[y];
            const int8_t *row_lo = batch + ty.lo;
            const int8_t *row_hi = batch + ty.hi;
            for (int32_t x = 0; x < p->out_width; ++x) {
                const mcugen_bilinear_tap_t tx = p->col[x];
                /* The four corner weights, each a product of two 1/1024 fractions. */
                const int32_t w_ll = (1024 - ty.frac) * (1024 - tx.frac);
                const int32_t w_hl = ty.frac * (1024 - tx.frac);
                const int32_t w_lh = (1024 - ty.frac) * tx.frac;
                const int32_t w_hh = ty.frac * tx.frac;
                for (int32_t c = 0; c < p->depth; ++c) {
                    const int32_t s = row_lo[tx.lo + c] * w_ll + row_hi[tx.lo + c] * w_hl
                                      + row_lo[tx.hi + c] * w_lh + row_hi[tx.hi + c] * w_hh;
                    output[c] = bilinear_round(s);
                }
                output += p->depth;
            }
        }
    }
}
