#include "transpose.h"

void mcugen_transpose_s8(const mcugen_transpose_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t n4 = p->shape[4];
    const int32_t s4 = p->stride[4];
    for (int32_t i0 = 0; i0 < p->shape[0]; ++i0) {
        const int8_t *src0 = input + i0 * p->stride[0];
        for (int32_t i1 = 0; i1 < p->shape[1]; ++i1) {
            const int8_t *src1 = src0 + i1 * p->stride[1];
            for (int32_t i2 = 0; i2 < p->shape[2]; ++i2) {
                const int8_t *src2 = src1 + i2 * p->stride[2];
                for (int32_t i3 = 0; i3 < p->shape[3]; ++i3) {
                    const int8_t *src = src2 + i3 * p->stride[3];
                    for (int32_t i4 = 0; i4 < n4; ++i4) {
                        output[i4] = src[i4 * s4];
                    }
                    output += n4;
                }
            }
        }
    }
}
