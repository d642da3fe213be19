#include "conv_dsp.h"

/* The column builders' small loops, called from several places: out of line they
 * cost a call per window row and save their code several times over. */
#if defined(__GNUC__) || defined(__clang__)
#define MCUGEN_NOINLINE __attribute__((noinline))
#else
#define MCUGEN_NOINLINE
#endif

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

/* n bytes from src to dst, a word at a time (unaligned word access is allowed on
 * the cores this kernel targets, and memcpy of a word is one LDR/STR). */
static void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        mcugen_write_u32(dst, mcugen_read_u32(src));
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

static void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    const uint32_t word = (uint32_t)(uint8_t)value * 0x01010101u;
    for (; n >= 4; n -= 4, dst += 4) {
        mcugen_write_u32(dst, word);
    }
    for (; n > 0; --n) {
        *dst++ = value;
    }
}

/* The window as depth4 int8 values in `bytes`: runs of the input rows, and the input
 * zero point (which the offset turns into 0, TFLM's skipped tap) outside the image.
 * For windows at the borders (interior ones go by their offsets); the values past
 * depth multiply zero weights, so they are left as they are. */
static void gather_window(const mcugen_conv_dsp_params_t *p, const window_t *win, int8_t *bytes)
{
    const int32_t in_c = p->input.c;
    const int8_t zero = (int8_t)(-p->input_offset);
    const int32_t row_values = p->filter_w * in_c;
    int8_t *dst = bytes;

    for (int32_t fy = 0; fy < p->filter_h; ++fy, dst += row_values) {
        const int32_t iy = win->in_y0 + fy * p->dilation_h;
        if (iy < 0 || iy >= p->input.h) {
            fill_bytes(dst, zero, row_values);
            continue;
        }
        int32_t fx0, fx1;
        mcugen_valid_taps(win->in_x0, p->dilation_w, p->filter_w, p->input.w, &fx0, &fx1);
        if (fx1 < fx0) {
            fx1 = fx0;
        }
        fill_bytes(dst, zero, fx0 * in_c);
        if (p->dilation_w == 1) {
            /* the taps inside the image are one run of the input row */
            if (fx1 > fx0) {
                copy_bytes(dst + fx0 * in_c, win->image + (iy * p->input.w + win->in_x0 + fx0) * in_c,
                           (fx1 - fx0) * in_c);
            }
        } else {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
                copy_bytes(dst + fx * in_c, win->image + (iy * p->input.w + win->in_x0 + fx * p->dilation_w) * in_c,
                           in_c);
            }
        }
        fill_bytes(dst + fx1 * in_c, zero, (p->filter_w - fx1) * in_c);
    }
}

/* `groups` groups of four int8 values from src, widened with the offset added. */
MCUGEN_NOINLINE static uint32_t *widen_run(const int8_t *src, int32_t groups, uint32_t offset2, uint32_t *col, int32_t step)
{
    for (; groups > 0; --groups, src += 4, col += step) {
        const uint32_t four = mcugen_read_u32(src);
        col[0] = mcugen_sxtab16(offset2, four);
        col[1] = mcugen_sxtab16_ror8(offset2, four);
    }
    return col;
}

MCUGEN_NOINLINE static uint32_t *zero_run(int32_t groups, uint32_t *col, int32_t step)
{
    for (; groups > 0; --groups, col += step) {
        col[0] = 0;
        col[1] = 0;
    }
    return col;
}

/* A window whose taps are whole groups of four (input.c a multiple of 4): each row
 * of it is widened straight from the input, its part inside the image in one run
 * (dilation_w 1) or tap by tap, zeros for the taps outside. */
static void column_in_runs(const mcugen_conv_dsp_params_t *p, const window_t *win, uint32_t offset2, uint32_t *col,
                           int32_t step)
{
    const int32_t tap_groups = p->input.c >> 2;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = win->in_y0 + fy * p->dilation_h;
        if (iy < 0 || iy >= p->input.h) {
            col = zero_run(p->filter_w * tap_groups, col, step);
            continue;
        }
        int32_t fx0, fx1;
        mcugen_valid_taps(win->in_x0, p->dilation_w, p->filter_w, p->input.w, &fx0, &fx1);
        if (fx1 < fx0) {
            fx1 = fx0;
        }
        col = zero_run(fx0 * tap_groups, col, step);
        const int8_t *row = fx1 > fx0 ? win->image + iy * p->input.w * p->input.c : NULL;
        if (p->dilation_w == 1) {
            if (fx1 > fx0) {
                col = widen_run(row + (win->in_x0 + fx0) * p->input.c, (fx1 - fx0) * tap_groups, offset2, col, step);
            }
        } else {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
                col = widen_run(row + (win->in_x0 + fx * p->dilation_w) * p->input.c, tap_groups, offset2, col, step);
            }
        }
        col = zero_run((p->filter_w - fx1) * tap_groups, col, step);
    }
}

/* An interior window through its offsets: four loads make each group's word. */
static void column_by_offsets(const int8_t *origin, const int16_t *offsets, int32_t groups, uint32_t offset2,
                              uint32_t *col, int32_t step)
{
    for (; groups > 0; --groups, offsets += 4, col += step) {
        const uint32_t four = (uint32_t)(uint8_t)origin[offsets[0]] | ((uint32_t)(uint8_t)origin[offsets[1]] << 8) |
                              ((uint32_t)(uint8_t)origin[offsets[2]] << 16) |
                              ((uint32_t)(uint8_t)origin[offsets[3]] << 24);
        col[0] = mcugen_sxtab16(offset2, four);
        col[1] = mcugen_sxtab16_ror8(offset2, four);
    }
}

/* One pixel's column: its depth4 values widened to int16 with the offset added,
 * group g's two words at col[g * step], col[g * step + 1]. */
static void fill_column(const mcugen_conv_dsp_params_t *p, const window_t *win, uint32_t offset2, uint32_t *col,
                        int32_t step, int8_t *bytes, const int16_t *offsets)
{
    const int inside = win->in_y0 >= 0 && win->in_y0 + (p->filter_h - 1) * p->dilation_h < p->input.h &&
                       win->in_x0 >= 0 && win->in_x0 + (p->filter_w - 1) * p->dilation_w < p->input.w;
    if (offsets != NULL && inside) {
        column_by_offsets(win->image + (win->in_y0 * p->input.w + win->in_x0) * p->input.c, offsets,
                          p->depth4 >> 2, offset2, col, step);
        return;
    }
    if (p->filter_h == 1 && p->filter_w == 1 && (p->input.c & 3) == 0) {
        /* A 1x1 window (never in the padding: TFLM pads a 1x1 filter by 0) is one input pixel. */
        widen_run(win->image + (win->in_y0 * p->input.w + win->in_x0) * p->input.c, p->depth4 >> 2, offset2, col,
                  step);
    } else if ((p->input.c & 3) == 0) {
        column_in_runs(p, win, offset2, col, step);
    } else {
        gather_window(p, win, bytes);
        widen_run(bytes, p->depth4 >> 2, offset2, col, step);
    }
}

/* The output zero point and clamp, copied out of the parameters: the kernels store
 * int8 outputs, which C lets alias anything, so values read through `p` would be
 * read again after every store. */
typedef struct {
    int32_t offset, min, max;
} output_stage_t;

static output_stage_t output_stage(int32_t offset, mcugen_act_range_t act)
{
    output_stage_t o = {offset, act.min, act.max};
    return o;
}

static MCUGEN_ALWAYS_INLINE int8_t output_value(output_stage_t o, uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    return (int8_t)mcugen_clamp(mcugen_requantize_dsp(acc, rq) + o.offset, o.min, o.max);
}

/* The same with the merged requantization and SSAT (e >= 2, act all of int8). */
static MCUGEN_ALWAYS_INLINE int8_t output_value_merged(output_stage_t o, uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    return (int8_t)mcugen_ssat8(mcugen_requantize_dsp_merged(acc, rq) + o.offset);
}

/* Pixels whose columns are interleaved in scratch and computed together: each
 * pair of output channels' filter word is loaded and widened once for all of them. */
#define PIXELS 3
#define COLUMN_STEP (2 * PIXELS) /* words per group of four taps in the interleaved columns */

/* One group of four taps for 3 pixels x 2 channels: 4 LDRD, 4 SXTB16, 12 SMLAD. */
#define MCUGEN_CONV_GROUP_3X2()                                                                                  \
    do {                                                                                                       \
        const uint32_t wa = w[0], wb = w[1];                                                                   \
        const uint32_t a_even = mcugen_sxtb16(wa), a_odd = mcugen_sxtb16_ror8(wa);                             \
        const uint32_t b_even = mcugen_sxtb16(wb), b_odd = mcugen_sxtb16_ror8(wb);                             \
        uint32_t x_even = x[0], x_odd = x[1];                                                                  \
        w += 2;                                                                                                \
        acc00 = mcugen_smlad(x_even, a_even, acc00);                                                           \
        acc00 = mcugen_smlad(x_odd, a_odd, acc00);                                                             \
        acc01 = mcugen_smlad(x_even, b_even, acc01);                                                           \
        acc01 = mcugen_smlad(x_odd, b_odd, acc01);                                                             \
        x_even = x[2];                                                                                         \
        x_odd = x[3];                                                                                          \
        acc10 = mcugen_smlad(x_even, a_even, acc10);                                                           \
        acc10 = mcugen_smlad(x_odd, a_odd, acc10);                                                             \
        acc11 = mcugen_smlad(x_even, b_even, acc11);                                                           \
        acc11 = mcugen_smlad(x_odd, b_odd, acc11);                                                             \
        x_even = x[4];                                                                                         \
        x_odd = x[5];                                                                                          \
        x += COLUMN_STEP;                                                                                      \
        acc20 = mcugen_smlad(x_even, a_even, acc20);                                                           \
        acc20 = mcugen_smlad(x_odd, a_odd, acc20);                                                             \
        acc21 = mcugen_smlad(x_even, b_even, acc21);                                                           \
        acc21 = mcugen_smlad(x_odd, b_odd, acc21);                                                             \
    } while (0)

/* acc[2i + c] += pixel i's column . channel c's filter, for one channel pair. A
 * function of its own so that only the loop's values compete for the registers:
 * 6 accumulators, 4 widened taps, one pixel's 2 words and 2 pointers fill the
 * core's 14, and only the loop's end goes to the stack. 0.94 instructions per MAC. */
__attribute__((noinline)) MCUGEN_KEEP_ORDER static void dot_3x2(const uint32_t *x, const uint32_t *w,
                                                                int32_t groups, uint32_t acc[2 * PIXELS])
{
    uint32_t acc00 = acc[0], acc01 = acc[1], acc10 = acc[2], acc11 = acc[3], acc20 = acc[4], acc21 = acc[5];
    const uint32_t *const w_pairs_end = w + 4 * (groups >> 1);
    while (w != w_pairs_end) {
        MCUGEN_CONV_GROUP_3X2();
        MCUGEN_CONV_GROUP_3X2();
    }
    if (groups & 1) {
        MCUGEN_CONV_GROUP_3X2();
    }
    acc[0] = acc00;
    acc[1] = acc01;
    acc[2] = acc10;
    acc[3] = acc11;
    acc[4] = acc20;
    acc[5] = acc21;
}

/* Every output channel of PIXELS pixels; cols holds their columns interleaved:
 * group g is cols[COLUMN_STEP g ..] = pixel 0 (even, odd), pixel 1 (even, odd), ... */
static void some_pixels(const mcugen_conv_dsp_params_t *p, const uint32_t *cols, const uint32_t *filter,
                        int8_t *const out[PIXELS])
{
    const int32_t out_c = p->output.c;
    const int32_t groups = p->depth4 >> 2;
    const output_stage_t o = output_stage(p->output_offset, p->act);
    const mcugen_requant_dsp_t *rq = p->channels;
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2, rq += 2) {
        uint32_t acc[2 * PIXELS];
        for (int i = 0; i < PIXELS; ++i) {
            acc[2 * i] = (uint32_t)rq[0].bias;
            acc[2 * i + 1] = (uint32_t)rq[1].bias;
        }
        dot_3x2(cols, filter + oc * groups, groups, acc);
        /* The merged output stage where both channels allow it (e >= 2, no clamp narrower than int8). */
        if (p->full_range && rq[0].right >= 2 && rq[1].right >= 2) {
            for (int i = 0; i < PIXELS; ++i) {
                const int8_t v0 = output_value_merged(o, acc[2 * i], &rq[0]);
                const int8_t v1 = output_value_merged(o, acc[2 * i + 1], &rq[1]);
                out[i][oc] = v0;
                out[i][oc + 1] = v1;
            }
        } else {
            for (int i = 0; i < PIXELS; ++i) {
                const int8_t v0 = output_value(o, acc[2 * i], &rq[0]);
                const int8_t v1 = output_value(o, acc[2 * i + 1], &rq[1]);
                out[i][oc] = v0;
                out[i][oc + 1] = v1;
            }
        }
    }
    if (oc < out_c) { /* an odd last channel, stored alone */
        const uint32_t *w = filter + oc * groups;
        uint32_t acc[PIXELS];
        for (int i = 0; i < PIXELS; ++i) {
            acc[i] = (uint32_t)rq[0].bias;
        }
        const uint32_t *x = cols;
        for (int32_t g = 0; g < groups; ++g, x += COLUMN_STEP) {
            const uint32_t wa = *w++;
            const uint32_t even = mcugen_sxtb16(wa), odd = mcugen_sxtb16_ror8(wa);
            for (int i = 0; i < PIXELS; ++i) {
                acc[i] = mcugen_smlad(x[2 * i + 1], odd, mcugen_smlad(x[2 * i], even, acc[i]));
            }
        }
        for (int i = 0; i < PIXELS; ++i) {
            out[i][oc] = output_value(o, acc[i], &rq[0]);
        }
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
    /* Scratch (16-byte aligned in the arena): PIXELS interleaved columns of depth4 / 2
     * words each, depth4 bytes to gather a window in, and output.c bytes that take the
     * results of the pixels past the last one. */
    uint32_t *cols = (uint32_t *)(void *)scratch;
    int8_t *bytes = (int8_t *)(void *)(cols + PIXELS * p->depth4 / 2);
    int8_t *sink = bytes + p->depth4;
    const int16_t *offsets = (p->input.c & 3) != 0 ? p->offsets : NULL; /* few input channels: generated */
    pixel_cursor_t at = {0, 0, 0};
    window_t win;
    int8_t *out = output;
    for (int32_t px = 0; px < pixels; px += PIXELS) {
        int8_t *outs[PIXELS];
        for (int i = 0; i < PIXELS; ++i) {
            if (px + i < pixels) {
                window_of(p, input, &at, &win);
                fill_column(p, &win, offset2, cols + 2 * i, COLUMN_STEP, bytes, offsets);
                advance(p, &at);
                outs[i] = out + i * p->output_stride;
            } else {
                outs[i] = sink; /* a column left from before (or the arena's bytes): computed, never stored */
            }
        }
        some_pixels(p, cols, filter, outs);
        out += PIXELS * p->output_stride;
    }
}

/* The four input values x[k..k+3] of a row, widened with the offset added, as the
 * (even, odd) word pair the packed weights pair with; past the row's end (left < 4),
 * zeros. */
static MCUGEN_ALWAYS_INLINE void widen_group(const int8_t *x, int32_t left, int32_t offset, uint32_t offset2, uint32_t *even,
                        uint32_t *odd)
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

/* acc[0..units) += the row . each unit's weights; w: the packed weights of those
 * units (two interleaved, or one alone). */
MCUGEN_NOINLINE MCUGEN_KEEP_ORDER static const uint32_t *fc_dot(const int8_t *row, int32_t depth, int32_t groups,
                                                                int32_t offset, uint32_t offset2, const uint32_t *w,
                                                   int units, uint32_t acc[2])
{
    for (int32_t g = 0; g < groups; ++g) {
        uint32_t x_even, x_odd;
        widen_group(row + 4 * g, depth - 4 * g, offset, offset2, &x_even, &x_odd);
        for (int u = 0; u < units; ++u) {
            const uint32_t wu = *w++;
            acc[u] = mcugen_smlad(x_even, mcugen_sxtb16(wu), acc[u]);
            acc[u] = mcugen_smlad(x_odd, mcugen_sxtb16_ror8(wu), acc[u]);
        }
    }
    return w;
}

MCUGEN_KEEP_ORDER void mcugen_fully_connected_s8_dsp(const mcugen_fully_connected_dsp_params_t *p,
                                                     const int8_t *input, const uint32_t *weights, int8_t *output)
{
    const uint32_t offset2 = offset_pair(p->input_offset);
    const int32_t groups = p->depth4 >> 2;
    const output_stage_t o = output_stage(p->output_offset, p->act);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + b * p->depth;
        int8_t *out = output + b * p->units;
        const uint32_t *w = weights;
        int32_t u = 0;
        for (; u + 2 <= p->units; u += 2) { /* units in pairs, their weights interleaved */
            const mcugen_requant_dsp_t *rq = &p->channels[u];
            uint32_t acc[2] = {(uint32_t)rq[0].bias, (uint32_t)rq[1].bias};
            w = fc_dot(row, p->depth, groups, p->input_offset, offset2, w, 2, acc);
            const int8_t v0 = output_value(o, acc[0], &rq[0]), v1 = output_value(o, acc[1], &rq[1]);
            out[u] = v0;
            out[u + 1] = v1;
        }
        if (u < p->units) { /* an odd last unit, its weights alone */
            uint32_t acc[2] = {(uint32_t)p->channels[u].bias, 0u};
            fc_dot(row, p->depth, groups, p->input_offset, offset2, w, 1, acc);
            out[u] = output_value(o, acc[0], &p->channels[u]);
        }
    }
}
