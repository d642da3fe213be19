#include "resize_nearest.h"

void mcugen_resize_nearest_s8(const mcugen_resize_nearest_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *batch = input + b * p->in_batch_stride;
        for (int32_t y = 0; y < p->out_height; ++y) {
            const int8_t *row = batch + p->row_offset[y];
            for (int32_t x = 0; x < p->out_width; ++x) {
                const int8_t *pixel = row + p->col_offset[x];
                for (int32_t c = 0; c < p->depth; ++c) {
                    output[c] = pixel[c];
                }
                output += p->depth;
            }
        }
    }
}
