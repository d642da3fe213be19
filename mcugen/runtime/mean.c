#include "mean.h"

/* Sum of the reduced window starting at `base`. Integer addition is
 * associative mod 2^32, so summing one output at a time gives the same int32
 * TFLM gets by scattering over the whole input; the sum wraps like TFLM's. */
static uint32_t reduced_sum(const mcugen_mean_params_t *p, const int8_t *base)
{
    uint32_t sum = 0;
    for (int32_t i0 = 0; i0 < p->reduced_extent[0]; ++i0) {
        const int8_t *p0 = base + i0 * p->reduced_stride[0];
        for (int32_t i1 = 0; i1 < p->reduced_extent[1]; ++i1) {
            const int8_t *p1 = p0 + i1 * p->reduced_stride[1];
            for (int32_t i2 = 0; i2 < p->reduced_extent[2]; ++i2) {
                const int8_t *p2 = p1 + i2 * p->reduced_stride[2];
                for (int32_t i3 = 0; i3 < p->reduced_extent[3]; ++i3) {
                    sum += (uint32_t)(int32_t)p2[i3 * p->reduced_stride[3]];
                }
            }
        }
    }
    return sum;
}

static int8_t mean_output(const mcugen_mean_params_t *p, uint32_t sum)
{
    const int32_t shifted = (int32_t)(sum - (uint32_t)p->zero_point_times_count);
    const int32_t out = mcugen_requantize(shifted, p->requant.multiplier, p->requant.shift) + p->output_offset;
    return (int8_t)mcugen_clamp(out, INT8_MIN, INT8_MAX);
}

void mcugen_mean_s8(const mcugen_mean_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t k0 = 0; k0 < p->kept_extent[0]; ++k0) {
        const int8_t *q0 = input + k0 * p->kept_stride[0];
        for (int32_t k1 = 0; k1 < p->kept_extent[1]; ++k1) {
            const int8_t *q1 = q0 + k1 * p->kept_stride[1];
            for (int32_t k2 = 0; k2 < p->kept_extent[2]; ++k2) {
                const int8_t *q2 = q1 + k2 * p->kept_stride[2];
                for (int32_t k3 = 0; k3 < p->kept_extent[3]; ++k3) {
                    *output++ = mean_output(p, reduced_sum(p, q2 + k3 * p->kept_stride[3]));
                }
            }
        }
    }
}
