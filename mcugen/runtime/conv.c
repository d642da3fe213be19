#include "conv.h"

/* sum_i w[i] * (x[i] + x_offset). The sum is kept in uint32: each product fits
 * int32, and TFLM's int32 accumulator wraps on real hardware when a huge filter
 * overflows it; unsigned arithmetic gives that same result without C's
 * undefined signed overflow. Integer addition is associative, so the order of
 * the taps does not change the result. */
static uint32_t conv_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_offset)
{
    uint32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)((int32_t)w[i] * ((int32_t)x[i] + x_offset));
    }
    return acc;
}

/* The window of one output pixel: where it starts in the image and which taps land inside. */
typedef struct {
    const int8_t *image; /* this batch's input */
    int32_t in_y0, in_x0; /* input coordinate of tap (0, 0); negative inside the padding */
    int32_t fy0, fy1;     /* valid rows of taps */
    int32_t fx0, fx1;     /* valid columns of taps */
} conv_window_t;

/* Every output channel of one output pixel. */
static void conv_pixel(const mcugen_conv_params_t *p, const conv_window_t *win, const int8_t *filter,
                       const int32_t *bias, int8_t *out)
{
    const int32_t in_c = p->input.c;
    const int32_t fic = p->filter_in_c;
    const int32_t filters_per_group = p->output.c / (in_c / fic);
    const int32_t filter_row = p->filter_w * fic;         /* one row of taps */
    const int32_t filter_size = p->filter_h * filter_row; /* one output channel's filter */
    const int32_t in_row = p->input.w * in_c;
    /* With no dilation along x and no groups, a run of horizontal taps reads one
     * contiguous span of the input row and of the filter row: a single dot product. */
    const int contiguous_x = p->dilation_w == 1 && fic == in_c;
    /* A window with no column inside the image reads nothing (and must not even
     * form pointers outside the row). */
    const int32_t fy_end = win->fx1 > win->fx0 ? win->fy1 : win->fy0;

    /* Output channels come group by group; each group reads its own slice of the
     * input channels (one group, starting at channel 0, for an ordinary conv). */
    int32_t oc = 0;
    for (int32_t channel_base = 0; oc < p->output.c; channel_base += fic) {
        for (int32_t group_end = oc + filters_per_group; oc < group_end; ++oc) {
            const int8_t *w_oc = filter + oc * filter_size;
            uint32_t acc = 0;
            for (int32_t fy = win->fy0; fy < fy_end; ++fy) {
                const int8_t *x_row = win->image + (win->in_y0 + fy * p->dilation_h) * in_row + channel_base;
                const int8_t *w_row = w_oc + fy * filter_row;
                if (contiguous_x) {
                    acc += conv_dot_s8(x_row + (win->in_x0 + win->fx0) * in_c, w_row + win->fx0 * fic,
                                       (win->fx1 - win->fx0) * fic, p->input_offset);
                    continue;
                }
                for (int32_t fx = win->fx0; fx < win->fx1; ++fx) {
                    acc += conv_dot_s8(x_row + (win->in_x0 + fx * p->dilation_w) * in_c, w_row + fx * fic, fic,
                                       p->input_offset);
                }
            }
            if (bias != NULL) {
                acc += (uint32_t)bias[oc];
            }
            const mcugen_requant_t *rq = &p->requant[p->per_channel ? oc : 0];
            /* uint32 -> int32 keeps the two's-complement bits (implementation-defined
             * in C99, modular on every compiler mcugen targets). */
            int32_t v = mcugen_requantize((int32_t)acc, rq->multiplier, rq->shift) + p->output_offset;
            out[oc] = (int8_t)mcugen_clamp(v, p->act.min, p->act.max);
        }
    }
}

void mcugen_conv_s8(const mcugen_conv_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output)
{
    const int32_t image_size = p->input.h * p->input.w * p->input.c;
    int8_t *out = output;
    for (int32_t b = 0; b < p->output.n; ++b) {
        conv_window_t win;
        win.image = input + b * image_size;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            win.in_y0 = oy * p->stride_h - p->pad_h;
            mcugen_valid_taps(win.in_y0, p->dilation_h, p->filter_h, p->input.h, &win.fy0, &win.fy1);
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                win.in_x0 = ox * p->stride_w - p->pad_w;
                mcugen_valid_taps(win.in_x0, p->dilation_w, p->filter_w, p->input.w, &win.fx0, &win.fx1);
                conv_pixel(p, &win, filter, bias, out);
                out += p->output_stride;
            }
        }
    }
}
