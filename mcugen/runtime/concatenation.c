#include "concatenation.h"

void mcugen_concatenation_s8(const mcugen_concatenation_params_t *p, const int8_t *const *inputs,
                             int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->num_inputs; ++k) {
            const int32_t n = p->copy_size[k];
            const int8_t *src = inputs[k] + o * n;
            for (int32_t i = 0; i < n; ++i) {
                output[i] = src[i];
            }
            output += n;
        }
    }
}
