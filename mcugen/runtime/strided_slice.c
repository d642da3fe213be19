#include "strided_slice.h"

void mcugen_strided_slice_s8(const mcugen_strided_slice_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t n4 = p->count[4];
    const int32_t s4 = p->step[4];
    for (int32_t i0 = 0; i0 < p->count[0]; ++i0) {
        const int32_t o0 = p->start + i0 * p->step[0];
        for (int32_t i1 = 0; i1 < p->count[1]; ++i1) {
            const int32_t o1 = o0 + i1 * p->step[1];
            for (int32_t i2 = 0; i2 < p->count[2]; ++i2) {
                const int32_t o2 = o1 + i2 * p->step[2];
                for (int32_t i3 = 0; i3 < p->count[3]; ++i3) {
                    const int8_t *src = input + o2 + i3 * p->step[3];
                    for (int32_t i4 = 0; i4 < n4; ++i4) {
                        output[i4] = src[i4 * s4];
                    }
                    output += n4;
                }
            }
        }
    }
}
