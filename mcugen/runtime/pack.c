#include "pack.h"

void mcugen_pack_s8(const mcugen_pack_params_t *p, const int8_t *const *inputs, int8_t *output)
{
    const int32_t n = p->copy_size;
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->num_inputs; ++k) {
            const int8_t *src = inputs[k] + o * n;
            for (int32_t i = 0; i < n; ++i) {
                output[i] = src[i];
            }
            output += n;
        }
    }
}
