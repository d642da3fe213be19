#include "depthwise_conv.h"

/* Output channels are accumulated this many at a time, so the innermost loop
 * walks contiguous channels of one input pixel and one filter tap (which
 * vectorizes) instead of striding across the image. The accumulators live on
 * the stack: 4 * DW_CHUNK bytes. */
#define DW_CHUNK 32

/* The window of one output pixel: where it starts in the image and which taps land inside. */
typedef struct {
    const int8_t *image; /* this batch's input */
    int32_t in_y0, in_x0; /* input coordinate of tap (0, 0); negative inside the padding */
    int32_t fy0, fy1;     /* valid rows of taps */
    int32_t fx0, fx1;     /* valid columns of taps */
} dw_window_t;

/* acc[k] += w[k] * (x[input channel of oc0 + k] + x_offset) for k < n.
 * Sums are uint32 so that a wrap (TFLM's int32 accumulator on real hardware)
 * is defined C; integer addition is associative, so tap order does not matter. */
static void dw_tap(const int8_t *x, const int8_t *w, int32_t oc0, int32_t n, int32_t depth_multiplier,
                   int32_t x_offset, uint32_t *acc)
{
    if (depth_multiplier == 1) {
        const int8_t *xc = x + oc0;
        for (int32_t k = 0; k < n; ++k) {
            acc[k] += (uint32_t)((int32_t)w[k] * ((int32_t)xc[k] + x_offset));
        }
        return;
    }
    /* Output channel oc0 + k reads input channel (oc0 + k) / depth_multiplier:
     * walk it with a counter rather than dividing per channel. */
    int32_t ic = oc0 / depth_multiplier;
    int32_t m = oc0 - ic * depth_multiplier;
    int32_t xv = (int32_t)x[ic] + x_offset;
    for (int32_t k = 0; k < n; ++k) {
        acc[k] += (uint32_t)((int32_t)w[k] * xv);
        if (++m == depth_multiplier && k + 1 < n) {
            m = 0;
            xv = (int32_t)x[++ic] + x_offset;
        }
    }
}

/* Output channels [oc0, oc0 + n) of one output pixel. */
static void dw_chunk(const mcugen_depthwise_conv_params_t *p, const dw_window_t *win, int32_t oc0, int32_t n,
                     const int8_t *filter, const int32_t *bias, int8_t *out)
{
    const int32_t in_c = p->input.c;
    const int32_t out_c = p->output.c;
    const int32_t in_row = p->input.w * in_c;
    uint32_t acc[DW_CHUNK];
    for (int32_t k = 0; k < n; ++k) {
        acc[k] = bias != NULL ? (uint32_t)bias[oc0 + k] : 0u;
    }
    /* A window with no column inside the image reads nothing (and must not even
     * form pointers outside the row). */
    const int32_t fy_end = win->fx1 > win->fx0 ? win->fy1 : win->fy0;
    for (int32_t fy = win->fy0; fy < fy_end; ++fy) {
        const int8_t *x_row = win->image + (win->in_y0 + fy * p->dilation_h) * in_row;
        const int8_t *w_row = filter + fy * p->filter_w * out_c + oc0;
        for (int32_t fx = win->fx0; fx < win->fx1; ++fx) {
            dw_tap(x_row + (win->in_x0 + fx * p->dilation_w) * in_c, w_row + fx * out_c, oc0, n,
                   p->depth_multiplier, p->input_offset, acc);
        }
    }
    for (int32_t k = 0; k < n; ++k) {
        const int32_t oc = oc0 + k;
        const mcugen_requant_t *rq = &p->requant[p->per_channel ? oc : 0];
        /* uint32 -> int32 keeps the two's-complement bits (implementation-defined
         * in C99, modular on every compiler mcugen targets). */
        int32_t v = mcugen_requantize((int32_t)acc[k], rq->multiplier, rq->shift) + p->output_offset;
        out[oc] = (int8_t)mcugen_clamp(v, p->act.min, p->act.max);
    }
}

void mcugen_depthwise_conv_s8(const mcugen_depthwise_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output)
{
    const int32_t image_size = p->input.h * p->input.w * p->input.c;
    const int32_t out_c = p->output.c;
    int8_t *out = output;
    for (int32_t b = 0; b < p->output.n; ++b) {
        dw_window_t win;
        win.image = input + b * image_size;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            win.in_y0 = oy * p->stride_h - p->pad_h;
            mcugen_valid_taps(win.in_y0, p->dilation_h, p->filter_h, p->input.h, &win.fy0, &win.fy1);
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                win.in_x0 = ox * p->stride_w - p->pad_w;
                mcugen_valid_taps(win.in_x0, p->dilation_w, p->filter_w, p->input.w, &win.fx0, &win.fx1);
                for (int32_t oc0 = 0; oc0 < out_c; oc0 += DW_CHUNK) {
                    const int32_t n = out_c - oc0 < DW_CHUNK ? out_c - oc0 : DW_CHUNK;
                    dw_chunk(p, &win, oc0, n, filter, bias, out);
                }
                out += p->output_stride;
            }
        }
    }
}
