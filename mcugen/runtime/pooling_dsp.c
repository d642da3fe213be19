#include "pooling_dsp.h"

/* The per-group loops stay functions of their own: inlined into their callers they
 * would share the core's registers with the callers' loops and spill. */
#if defined(__GNUC__) || defined(__clang__)
#define POOL_LOOP __attribute__((noinline))
#else
#define POOL_LOOP
#endif

/* The part of the filter window inside the input along one axis, as in pooling.c:
 * the window's first input position and its taps [*start, *end). */
static void window_span(int32_t out_pos, int32_t stride, int32_t pad, int32_t filter, int32_t in_size,
                        int32_t *origin, int32_t *start, int32_t *end)
{
    *origin = out_pos * stride - pad;
    *start = *origin < 0 ? -*origin : 0;
    *end = in_size - *origin < filter ? in_size - *origin : filter;
}

/* A run of output pixels of one output row whose windows have the same shape: the
 * first window's first input tap, the step between windows, rows x cols taps. */
typedef struct {
    const int8_t *first;
    int32_t step;       /* bytes from one window to the next (stride_w * depth) */
    int32_t rows;
    int32_t cols;
    int32_t row_stride; /* bytes per input row */
    int32_t depth;      /* channels, >= 4 */
    int32_t out_step;   /* bytes from one output pixel to the next (depth, or more in a wider tensor) */
} run_t;

/* The output columns [*lo, *hi) whose windows lie wholly inside the input
 * (lo <= hi; the columns before and after are the border ones). */
static void full_columns(const mcugen_pool_dsp_params_t *p, int32_t *lo, int32_t *hi)
{
    int32_t a = 0;
    while (a < p->output.w && a * p->stride_w - p->pad_w < 0) {
        ++a;
    }
    int32_t b = p->output.w;
    while (b > a && (b - 1) * p->stride_w - p->pad_w + p->filter_w > p->input.w) {
        --b;
    }
    *lo = a;
    *hi = b;
}

/* A fused activation narrower than int8, over n outputs: four at a time. */
static void clamp_bytes(int8_t *out, int32_t n, mcugen_act_range_t act)
{
    const uint32_t lo = 0x01010101u * (uint8_t)act.min;
    const uint32_t hi = 0x01010101u * (uint8_t)act.max;
    int32_t c = 0;
    for (; c + 4 <= n; c += 4) {
        mcugen_write_u32(out + c, mcugen_min_s8x4(mcugen_max_s8x4(mcugen_read_u32(out + c), lo), hi));
    }
    for (; c < n; ++c) {
        out[c] = (int8_t)mcugen_clamp(out[c], act.min, act.max);
    }
}

/* A kernel's work on one run: every channel of `pixels` outputs from out on. */
typedef void (*run_fn)(const run_t *run, int32_t pixels, int8_t *out);

/* Every output row: the border windows one by one, the full ones as one run, then
 * the clamp of a fused activation narrower than int8. */
static void pool_rows(const mcugen_pool_dsp_params_t *p, const int8_t *input, int8_t *output, run_fn run_of)
{
    const int32_t depth = p->input.c;
    const int32_t out_row = p->output.w * p->output_stride;
    const int clamp = p->act.min > -128 || p->act.max < 127;
    int32_t lo, hi;
    full_columns(p, &lo, &hi);
    run_t run;
    run.step = p->stride_w * depth;
    run.row_stride = p->input.w * depth;
    run.depth = depth;
    run.out_step = p->output_stride;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *batch = input + b * p->input.h * run.row_stride;
        for (int32_t oy = 0; oy < p->output.h; ++oy, output += out_row) {
            int32_t y0, fy0, fy1;
            window_span(oy, p->stride_h, p->pad_h, p->filter_h, p->input.h, &y0, &fy0, &fy1);
            run.rows = fy1 > fy0 ? fy1 - fy0 : 0;
            const int8_t *row = batch + (y0 + fy0) * run.row_stride;
            /* border windows one at a time, the full ones [lo, hi) as one run */
            for (int32_t ox = 0, pixels; ox < p->output.w; ox += pixels) {
                int32_t x0, fx0, fx1;
                window_span(ox, p->stride_w, p->pad_w, p->filter_w, p->input.w, &x0, &fx0, &fx1);
                pixels = ox == lo && hi > lo ? hi - lo : 1;
                run.first = row + (x0 + fx0) * depth;
                run.cols = fx1 > fx0 ? fx1 - fx0 : 0;
                run_of(&run, pixels, output + ox * p->output_stride);
            }
            if (clamp && p->output_stride == depth) {
                clamp_bytes(output, out_row, p->act);
            } else if (clamp) { /* a slice of a wider tensor: only this layer's channels */
                for (int32_t ox = 0; ox < p->output.w; ++ox) {
                    clamp_bytes(output + ox * p->output_stride, depth, p->act);
                }
            }
        }
    }
}

/* The channel offsets of the groups of four: 0, 4, ... and, when the count is not a
 * multiple of four, depth - 4 last (redoing a few channels: the same values again). */
#define FOR_EACH_GROUP(c, depth) for (int32_t c = 0, last_ = 0; !last_; last_ = c + 4 >= (depth), \
                                      c = c + 8 <= (depth) ? c + 4 : (depth) - 4)

/* ---- MAX_POOL_2D ---- */

/* The lane-wise maximum over a window of four channels starting at q; -128 for an
 * empty window, as in TFLM. */
static MCUGEN_ALWAYS_INLINE uint32_t max_of_window(const int8_t *q, int32_t rows, int32_t cols, int32_t row_stride,
                                                   int32_t depth)
{
    uint32_t acc = 0x80808080u;
    for (int32_t y = 0; y < rows; ++y, q += row_stride) {
        const int8_t *t = q;
        for (int32_t x = 0; x < cols; ++x, t += depth) {
            acc = mcugen_max_s8x4(acc, mcugen_read_u32(t));
        }
    }
    return acc;
}

/* One group of four channels across the run's pixels: the pixels are the inner
 * loop, so its registers hold only pointers and strides. */
POOL_LOOP static void max_group_2x2(const int8_t *q, int8_t *o, int32_t pixels, int32_t step, int32_t row_stride,
                                    int32_t depth, int32_t out_step)
{
    const int8_t *const end = q + pixels * step;
    for (; q != end; q += step, o += out_step) {
        const uint32_t top = mcugen_max_s8x4(mcugen_read_u32(q), mcugen_read_u32(q + depth));
        const uint32_t bottom =
            mcugen_max_s8x4(mcugen_read_u32(q + row_stride), mcugen_read_u32(q + row_stride + depth));
        mcugen_write_u32(o, mcugen_max_s8x4(top, bottom));
    }
}

/* Any window: every group of four channels across the run's pixels. */
POOL_LOOP static void max_groups(const run_t *run, int32_t pixels, int8_t *out)
{
    const int32_t step = run->step, row_stride = run->row_stride, depth = run->depth, out_step = run->out_step;
    int32_t rows = run->rows, cols = run->cols;
    if (row_stride == cols * depth) { /* the window spans whole input rows: one run of taps */
        cols *= rows;
        rows = 1;
    }
    FOR_EACH_GROUP(c, depth) {
        const int8_t *q = run->first + c;
        int8_t *o = out + c;
        for (int32_t px = 0; px < pixels; ++px, q += step, o += out_step) {
            mcugen_write_u32(o, max_of_window(q, rows, cols, row_stride, depth));
        }
    }
}

static void max_run(const run_t *run, int32_t pixels, int8_t *out)
{
    if (run->rows == 2 && run->cols == 2) { /* most max pools: unrolled */
        FOR_EACH_GROUP(c, run->depth) {
            max_group_2x2(run->first + c, out + c, pixels, run->step, run->row_stride, run->depth, run->out_step);
        }
    } else {
        max_groups(run, pixels, out);
    }
}

void mcugen_max_pool_s8_dsp(const mcugen_pool_dsp_params_t *p, const int8_t *input, int8_t *output)
{
    pool_rows(p, input, output, max_run);
}

/* ---- AVERAGE_POOL_2D ---- */

/* TFLM's rounding: half away from zero, with C's truncating division. */
static MCUGEN_ALWAYS_INLINE int8_t average(int32_t sum, int32_t count, int32_t half)
{
    return (int8_t)((sum > 0 ? sum + half : sum - half) / count);
}

/* The averages of four channels starting at q over a window of count > 0 taps:
 * rows of cols taps, two taps a step. */
static MCUGEN_ALWAYS_INLINE void average_of_window(const int8_t *q, int32_t rows, int32_t cols, int32_t row_stride,
                                                   int32_t depth, int32_t count, int8_t *out)
{
    uint32_t even = 0, even2 = 0; /* int16 sums of channels 0 (bottom half) and 2 (top) */
    uint32_t odd = 0, odd2 = 0;   /* channels 1 and 3 */
    for (int32_t y = 0; y < rows; ++y, q += row_stride) {
        const int8_t *t = q;
        const int8_t *const pairs_end = q + (cols & ~1) * depth;
        for (; t != pairs_end; t += 2 * depth) {
            const uint32_t v = mcugen_read_u32(t), w = mcugen_read_u32(t + depth);
            even = mcugen_sxtab16(even, v);
            odd = mcugen_sxtab16_ror8(odd, v);
            even2 = mcugen_sxtab16(even2, w);
            odd2 = mcugen_sxtab16_ror8(odd2, w);
        }
        if (cols & 1) {
            const uint32_t v = mcugen_read_u32(t);
            even = mcugen_sxtab16(even, v);
            odd = mcugen_sxtab16_ror8(odd, v);
        }
    }
    /* halves add without carries between them, and every true sum fits an int16 */
    even = mcugen_sadd16(even, even2);
    odd = mcugen_sadd16(odd, odd2);
    const int32_t half = count / 2;
    out[0] = average((int16_t)(uint16_t)(even & 0xFFFFu), count, half);
    out[1] = average((int16_t)(uint16_t)(odd & 0xFFFFu), count, half);
    out[2] = average((int16_t)(uint16_t)(even >> 16), count, half);
    out[3] = average((int16_t)(uint16_t)(odd >> 16), count, half);
}

/* Every group of four channels across the run's pixels (the inner loop). */
POOL_LOOP static void avg_groups(const run_t *run, int32_t pixels, int8_t *out)
{
    const int32_t step = run->step, row_stride = run->row_stride, depth = run->depth, out_step = run->out_step;
    const int32_t count = run->rows * run->cols;
    int32_t rows = run->rows, cols = run->cols;
    if (row_stride == cols * depth) { /* the window spans whole input rows: one run of taps */
        cols *= rows;
        rows = 1;
    }
    FOR_EACH_GROUP(c, depth) {
        const int8_t *q = run->first + c;
        int8_t *o = out + c;
        for (int32_t px = 0; px < pixels; ++px, q += step, o += out_step) {
            average_of_window(q, rows, cols, row_stride, depth, count, o);
        }
    }
}

static void avg_run(const run_t *run, int32_t pixels, int8_t *out)
{
    const int32_t depth = run->depth;
    if (run->rows * run->cols == 0) { /* TFLM: nothing summed, nothing divided (the clamp follows) */
        for (int32_t px = 0; px < pixels; ++px) {
            for (int32_t c = 0; c < depth; ++c) {
                out[px * run->out_step + c] = 0;
            }
        }
        return;
    }
    avg_groups(run, pixels, out);
}

void mcugen_avg_pool_s8_dsp(const mcugen_pool_dsp_params_t *p, const int8_t *input, int8_t *output)
{
    pool_rows(p, input, output, avg_run);
}
