#include "pooling.h"

/* The part of the filter window that lies inside the input, for one output
 * position along one axis: filter taps [*start, *end). */
static void window_span(int32_t out_pos, int32_t stride, int32_t pad, int32_t filter, int32_t in_size,
                        int32_t *origin, int32_t *start, int32_t *end)
{
    *origin = out_pos * stride - pad;
    *start = *origin < 0 ? -*origin : 0;
    *end = in_size - *origin < filter ? in_size - *origin : filter;
}

void mcugen_avg_pool_s8(const mcugen_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->input.c;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *in_batch = input + b * p->input.h * p->input.w * depth;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            int32_t y0, fy_start, fy_end;
            window_span(oy, p->stride_h, p->pad_h, p->filter_h, p->input.h, &y0, &fy_start, &fy_end);
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                int32_t x0, fx_start, fx_end;
                window_span(ox, p->stride_w, p->pad_w, p->filter_w, p->input.w, &x0, &fx_start, &fx_end);
                /* TFLM divides by the number of input positions actually
                 * summed, not by the filter area. */
                const int32_t count = (fy_end - fy_start) * (fx_end - fx_start);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * p->output_stride;
                for (int32_t c = 0; c < depth; ++c) {
                    int32_t acc = 0;
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                            acc += in_batch[((y0 + fy) * p->input.w + x0 + fx) * depth + c];
                        }
                    }
                    if (count > 0) {
                        /* Round half away from zero, with C's truncating division. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    out[c] = (int8_t)mcugen_clamp(acc, p->act.min, p->act.max);
                }
            }
        }
    }
}

void mcugen_max_pool_s8(const mcugen_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->input.c;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *in_batch = input + b * p->input.h * p->input.w * depth;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            int32_t y0, fy_start, fy_end;
            window_span(oy, p->stride_h, p->pad_h, p->filter_h, p->input.h, &y0, &fy_start, &fy_end);
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                int32_t x0, fx_start, fx_end;
                window_span(ox, p->stride_w, p->pad_w, p->filter_w, p->input.w, &x0, &fx_start, &fx_end);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * p->output_stride;
                for (int32_t c = 0; c < depth; ++c) {
                    int32_t max = INT8_MIN; /* an empty window gives -128, as in TFLM */
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                            const int32_t v = in_batch[((y0 + fy) * p->input.w + x0 + fx) * depth + c];
                            max = v > max ? v : max;
                        }
                    }
                    out[c] = (int8_t)mcugen_clamp(max, p->act.min, p->act.max);
                }
            }
        }
    }
}
