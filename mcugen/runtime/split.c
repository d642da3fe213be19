#include "split.h"

void mcugen_split_s8(const mcugen_split_params_t *p, const int8_t *input, int8_t *const *outputs)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->num_outputs; ++k) {
            const int32_t n = p->copy_size[k];
            int8_t *dst = outputs[k] + o * n;
            for (int32_t i = 0; i < n; ++i) {
                dst[i] = input[i];
            }
            input += n;
        }
    }
}
