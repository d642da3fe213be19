#include "transpose_conv.h"

/* The input coordinate filter tap t of output coordinate o reads along one
 * axis, or -1 when that tap falls between input pixels or outside them. */
static int32_t transpose_conv_source(int32_t o, int32_t pad, int32_t t, int32_t stride, int32_t size)
{
    const int32_t shifted = o + pad - t;
    if (shifted < 0 || shifted % stride != 0) {
        return -1;
    }
    const int32_t i = shifted / stride;
    return i < size ? i : -1;
}

/* sum_i w[i] * (x[i] + x_offset), in uint32 so an overflowing sum wraps as
 * TFLM's int32 accumulator does on hardware, without C's undefined behaviour. */
static uint32_t transpose_conv_dot(const int8_t *x, const int8_t *w, int32_t n, int32_t x_offset)
{
    uint32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)((int32_t)w[i] * ((int32_t)x[i] + x_offset));
    }
    return acc;
}

void mcugen_transpose_conv_s8(const mcugen_transpose_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output)
{
    const int32_t in_c = p->input.c;
    const int32_t in_row = p->input.w * in_c;
    const int32_t filter_size = p->filter_h * p->filter_w * in_c; /* one output channel's filter */
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + b * p->input.h * in_row;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                for (int32_t oc = 0; oc < p->output.c; ++oc) {
                    uint32_t acc = 0;
                    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
                        const int32_t iy = transpose_conv_source(oy, p->pad_h, fy, p->stride_h, p->input.h);
                        if (iy < 0) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
                            const int32_t ix = transpose_conv_source(ox, p->pad_w, fx, p->stride_w, p->input.w);
                            if (ix < 0) {
                                continue;
                            }
                            acc += transpose_conv_dot(image + iy * in_row + ix * in_c,
                                                      filter + oc * filter_size + (fy * p->filter_w + fx) * in_c,
                                                      in_c, p->input_offset);
                        }
                    }
                    if (bias != NULL) {
                        acc += (uint32_t)bias[oc];
                    }
                    const mcugen_requant_t rq = p->requant[p->per_channel ? oc : 0];
                    int32_t v = mcugen_requantize((int32_t)acc, rq.multiplier, rq.shift) + p->output_offset;
                    *output++ = (int8_t)mcugen_clamp(v, p->act.min, p->act.max);
                }
            }
        }
    }
}
