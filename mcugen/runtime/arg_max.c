#include "arg_max.h"

void mcugen_arg_max_s8(const mcugen_arg_max_params_t *p, const int8_t *input, int32_t *output)
{
    const int32_t stride = p->axis_size * p->inner;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *slice = input + o * stride;
        for (int32_t j = 0; j < p->inner; ++j) {
            int8_t best = slice[j];
            int32_t best_index = 0;
            for (int32_t i = 1; i < p->axis_size; ++i) {
                const int8_t v = slice[i * p->inner + j];
                if (v > best) {
                    best = v;
                    best_index = i;
                }
            }
            output[o * p->inner + j] = best_index;
        }
    }
}
