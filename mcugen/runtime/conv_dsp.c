#include "conv_dsp.h"

/* Both halves of a word set to the input offset: SXTAB16 adds it to two widened bytes. */
static uint32_t offset_pair(int32_t offset)
{
    return ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
}

/* Where one output pixel's window starts in the input. */
typedef struct {
    const int8_t *image; /* this batch's input */
    int32_t in_y0, in_x0;
} window_t;

/* Fast column: every tap's input channels are a whole number of words, so each
 * group of four values is four bytes of one input pixel. */
static void column_words(const mcugen_conv_dsp_params_t *p, const window_t *win, uint32_t offset2, uint32_t *col,
                         int32_t step)
{
    const int32_t in_c = p->input.c;
    const int32_t groups_per_tap = in_c / 4;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = win->in_y0 + fy * p->dilation_h;
        const int row_inside = iy >= 0 && iy < p->input.h;
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = win->in_x0 + fx * p->dilation_w;
            if (!row_inside || ix < 0 || ix >= p->input.w) {
                for (int32_t g = 0; g < groups_per_tap; ++g, col += step) {
                    col[0] = 0;
                    col[1] = 0;
                }
            } else {
                /* formed only inside the image: no pointer outside the tensor, even unread */
                const int8_t *src = win->image + (iy * p->input.w + ix) * in_c;
                for (int32_t g = 0; g < groups_per_tap; ++g, col += step) {
                    const uint32_t bytes = mcugen_read_u32(src);
                    src += 4;
                    col[0] = mcugen_sxtab16(offset2, bytes);
                    col[1] = mcugen_sxtab16_ror8(offset2, bytes);
                }
            }
        }
    }
}

/* General column (input channels not a multiple of four, e.g. an RGB or a
 * one-channel image): values are gathered one at a time and stored four by four. */
static void column_values(const mcugen_conv_dsp_params_t *p, const window_t *win, uint32_t *col, int32_t step)
{
    const int32_t in_c = p->input.c;
    int32_t group[4];
    int32_t filled = 0;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = win->in_y0 + fy * p->dilation_h;
        const int row_inside = iy >= 0 && iy < p->input.h;
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = win->in_x0 + fx * p->dilation_w;
            const int inside = row_inside && ix >= 0 && ix < p->input.w;
            const int8_t *src = inside ? win->image + (iy * p->input.w + ix) * in_c : NULL;
            for (int32_t ic = 0; ic < in_c; ++ic) {
                group[filled++] = inside ? (int32_t)src[ic] + p->input_offset : 0;
                if (filled == 4) {
                    col[0] = ((uint32_t)group[0] & 0xFFFFu) | ((uint32_t)group[2] << 16);
                    col[1] = ((uint32_t)group[1] & 0xFFFFu) | ((uint32_t)group[3] << 16);
                    col += step;
                    filled = 0;
                }
            }
        }
    }
    if (filled > 0) {
        for (; filled < 4; ++filled) {
            group[filled] = 0; /* the filter is zero-padded there too */
        }
        col[0] = ((uint32_t)group[0] & 0xFFFFu) | ((uint32_t)group[2] << 16);
        col[1] = ((uint32_t)group[1] & 0xFFFFu) | ((uint32_t)group[3] << 16);
    }
}

/* One pixel's column: group g's two words at col[g * step], col[g * step + 1]. */
static void fill_column(const mcugen_conv_dsp_params_t *p, const window_t *win, uint32_t offset2, uint32_t *col,
                        int32_t step)
{
    if ((p->input.c & 3) == 0) {
        column_words(p, win, offset2, col, step);
    } else {
        column_values(p, win, col, step);
    }
}

static MCUGEN_ALWAYS_INLINE int8_t output_value(const mcugen_conv_dsp_params_t *p, uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    const int32_t v = mcugen_requantize_dsp(acc, rq) + p->output_offset;
    return (int8_t)mcugen_clamp(v, p->act.min, p->act.max);
}

/* One group of four taps for 2 pixels x 2 channels: 3 LDRD, 4 SXTB16, 8 SMLAD. */
#define MCUGEN_CONV_GROUP_2X2()                                                                                  \
    do {                                                                                                       \
        const uint32_t wa = w[0], wb = w[1];                                                                   \
        const uint32_t x0_even = x[0], x0_odd = x[1], x1_even = x[2], x1_odd = x[3];                           \
        uint32_t even = mcugen_sxtb16(wa), odd = mcugen_sxtb16_ror8(wa);                                       \
        w += 2;                                                                                                \
        x += 4;                                                                                                \
        acc00 = mcugen_smlad(x0_even, even, acc00);                                                            \
        acc00 = mcugen_smlad(x0_odd, odd, acc00);                                                              \
        acc10 = mcugen_smlad(x1_even, even, acc10);                                                            \
        acc10 = mcugen_smlad(x1_odd, odd, acc10);                                                              \
        even = mcugen_sxtb16(wb);                                                                              \
        odd = mcugen_sxtb16_ror8(wb);                                                                          \
        acc01 = mcugen_smlad(x0_even, even, acc01);                                                            \
        acc01 = mcugen_smlad(x0_odd, odd, acc01);                                                              \
        acc11 = mcugen_smlad(x1_even, even, acc11);                                                            \
        acc11 = mcugen_smlad(x1_odd, odd, acc11);                                                              \
    } while (0)

/* Every output channel of two pixels; cols holds their columns interleaved:
 * group g is cols[4g .. 4g+3] = pixel 0 (even, odd), pixel 1 (even, odd). */
static void two_pixels(const mcugen_conv_dsp_params_t *p, const uint32_t *cols, const uint32_t *filter,
                       int8_t *out0, int8_t *out1)
{
    const int32_t out_c = p->output.c;
    const int32_t groups = p->depth4 >> 2;
    const mcugen_requant_dsp_t *rq = p->channels;
    const uint32_t *w = filter;
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2, rq += 2) {
        uint32_t acc00 = (uint32_t)rq[0].bias, acc10 = acc00; /* pixel 0 / 1, channel oc */
        uint32_t acc01 = (uint32_t)rq[1].bias, acc11 = acc01; /* channel oc + 1 */
        const uint32_t *x = cols;
        /* two groups per trip: the loop's own compare and branch are paid half as often */
        const uint32_t *const w_pairs_end = w + 4 * (groups >> 1);
        while (w != w_pairs_end) {
            MCUGEN_CONV_GROUP_2X2();
            MCUGEN_CONV_GROUP_2X2();
        }
        if (groups & 1) {
            MCUGEN_CONV_GROUP_2X2();
        }
        out0[oc] = output_value(p, acc00, &rq[0]);
        out0[oc + 1] = output_value(p, acc01, &rq[1]);
        out1[oc] = output_value(p, acc10, &rq[0]);
        out1[oc + 1] = output_value(p, acc11, &rq[1]);
    }
    if (oc < out_c) { /* an odd last channel, stored alone */
        uint32_t acc0 = (uint32_t)rq[0].bias, acc1 = acc0;
        const uint32_t *x = cols;
        for (int32_t g = 0; g < groups; ++g, x += 4) {
            const uint32_t wa = *w++;
            const uint32_t even = mcugen_sxtb16(wa), odd = mcugen_sxtb16_ror8(wa);
            acc0 = mcugen_smlad(x[0], even, acc0);
            acc0 = mcugen_smlad(x[1], odd, acc0);
            acc1 = mcugen_smlad(x[2], even, acc1);
            acc1 = mcugen_smlad(x[3], odd, acc1);
        }
        out0[oc] = output_value(p, acc0, &rq[0]);
        out1[oc] = output_value(p, acc1, &rq[0]);
    }
}

/* Every output channel of one pixel (a last odd pixel, or FULLY_CONNECTED with one
 * batch); col holds its column alone: group g is col[2g], col[2g + 1]. */
static void one_pixel(const mcugen_conv_dsp_params_t *p, const uint32_t *col, const uint32_t *filter, int8_t *out)
{
    const int32_t out_c = p->output.c;
    const int32_t groups = p->depth4 >> 2;
    const mcugen_requant_dsp_t *rq = p->channels;
    const uint32_t *w = filter;
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2, rq += 2) {
        uint32_t acc0 = (uint32_t)rq[0].bias, acc1 = (uint32_t)rq[1].bias;
        const uint32_t *x = col;
        const uint32_t *const w_end = w + 2 * groups;
        while (w != w_end) {
            const uint32_t wa = w[0], wb = w[1];
            w += 2;
            const uint32_t x_even = x[0], x_odd = x[1];
            x += 2;
            acc0 = mcugen_smlad(x_even, mcugen_sxtb16(wa), acc0);
            acc0 = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wa), acc0);
            acc1 = mcugen_smlad(x_even, mcugen_sxtb16(wb), acc1);
            acc1 = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wb), acc1);
        }
        out[oc] = output_value(p, acc0, &rq[0]);
        out[oc + 1] = output_value(p, acc1, &rq[1]);
    }
    if (oc < out_c) {
        uint32_t acc = (uint32_t)rq[0].bias;
        for (int32_t g = 0; g < groups; ++g) {
            const uint32_t wa = *w++;
            acc = mcugen_smlad(col[2 * g], mcugen_sxtb16(wa), acc);
            acc = mcugen_smlad(col[2 * g + 1], mcugen_sxtb16_ror8(wa), acc);
        }
        out[oc] = output_value(p, acc, &rq[0]);
    }
}

/* Output pixels in NHWC order, one at a time. */
typedef struct {
    int32_t b, oy, ox;
} pixel_cursor_t;

static void window_of(const mcugen_conv_dsp_params_t *p, const int8_t *input, const pixel_cursor_t *at, window_t *win)
{
    win->image = input + at->b * p->input.h * p->input.w * p->input.c;
    win->in_y0 = at->oy * p->stride_h - p->pad_h;
    win->in_x0 = at->ox * p->stride_w - p->pad_w;
}

static void advance(const mcugen_conv_dsp_params_t *p, pixel_cursor_t *at)
{
    if (++at->ox == p->output.w) {
        at->ox = 0;
        if (++at->oy == p->output.h) {
            at->oy = 0;
            ++at->b;
        }
    }
}

void mcugen_conv_s8_dsp(const mcugen_conv_dsp_params_t *p, const int8_t *input, const uint32_t *filter,
                        int8_t *output, int16_t *scratch)
{
    const uint32_t offset2 = offset_pair(p->input_offset);
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    /* Scratch is 16-byte aligned in the arena: two interleaved columns of depth4 / 2 words. */
    uint32_t *cols = (uint32_t *)(void *)scratch;
    pixel_cursor_t at = {0, 0, 0};
    window_t win;
    int8_t *out = output;
    int32_t px = 0;
    for (; px + 2 <= pixels; px += 2) {
        window_of(p, input, &at, &win);
        fill_column(p, &win, offset2, cols, 4);
        advance(p, &at);
        window_of(p, input, &at, &win);
        fill_column(p, &win, offset2, cols + 2, 4);
        advance(p, &at);
        two_pixels(p, cols, filter, out, out + p->output.c);
        out += 2 * p->output.c;
    }
    if (px < pixels) {
        window_of(p, input, &at, &win);
        fill_column(p, &win, offset2, cols, 2);
        one_pixel(p, cols, filter, out);
    }
}

/* The four input values x[k..k+3] of a row, widened with the offset added, as the
 * (even, odd) word pair the packed weights pair with; past the row's end, zeros. */
static MCUGEN_ALWAYS_INLINE void widen_group(const int8_t *x, int32_t left, int32_t offset, uint32_t offset2,
                                             uint32_t *even, uint32_t *odd)
{
    if (left >= 4) {
        const uint32_t bytes = mcugen_read_u32(x);
        *even = mcugen_sxtab16(offset2, bytes);
        *odd = mcugen_sxtab16_ror8(offset2, bytes);
        return;
    }
    int32_t v[4] = {0, 0, 0, 0};
    for (int32_t i = 0; i < left; ++i) {
        v[i] = (int32_t)x[i] + offset;
    }
    *even = ((uint32_t)v[0] & 0xFFFFu) | ((uint32_t)v[2] << 16);
    *odd = ((uint32_t)v[1] & 0xFFFFu) | ((uint32_t)v[3] << 16);
}

void mcugen_fully_connected_s8_dsp(const mcugen_fully_connected_dsp_params_t *p, const int8_t *input,
                                   const uint32_t *weights, int8_t *output)
{
    const uint32_t offset2 = offset_pair(p->input_offset);
    const int32_t groups = p->depth4 >> 2;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + b * p->depth;
        int8_t *out = output + b * p->units;
        const mcugen_requant_dsp_t *rq = p->channels;
        const uint32_t *w = weights;
        int32_t u = 0;
        for (; u + 2 <= p->units; u += 2, rq += 2) {
            uint32_t acc0 = (uint32_t)rq[0].bias, acc1 = (uint32_t)rq[1].bias;
            for (int32_t g = 0; g < groups; ++g) {
                uint32_t x_even, x_odd;
                widen_group(row + 4 * g, p->depth - 4 * g, p->input_offset, offset2, &x_even, &x_odd);
                const uint32_t wa = w[0], wb = w[1];
                w += 2;
                acc0 = mcugen_smlad(x_even, mcugen_sxtb16(wa), acc0);
                acc0 = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wa), acc0);
                acc1 = mcugen_smlad(x_even, mcugen_sxtb16(wb), acc1);
                acc1 = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wb), acc1);
            }
            out[u] = (int8_t)mcugen_clamp(mcugen_requantize_dsp(acc0, &rq[0]) + p->output_offset, p->act.min, p->act.max);
            out[u + 1] = (int8_t)mcugen_clamp(mcugen_requantize_dsp(acc1, &rq[1]) + p->output_offset, p->act.min,
                                              p->act.max);
        }
        if (u < p->units) {
            uint32_t acc = (uint32_t)rq[0].bias;
            for (int32_t g = 0; g < groups; ++g) {
                uint32_t x_even, x_odd;
                widen_group(row + 4 * g, p->depth - 4 * g, p->input_offset, offset2, &x_even, &x_odd);
                const uint32_t wa = *w++;
                acc = mcugen_smlad(x_even, mcugen_sxtb16(wa), acc);
                acc = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wa), acc);
            }
            out[u] = (int8_t)mcugen_clamp(mcugen_requantize_dsp(acc, &rq[0]) + p->output_offset, p->act.min, p->act.max);
        }
    }
}
