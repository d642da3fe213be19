#include "pad.h"

static int inside(const mcugen_pad_params_t *p, int32_t dim, int32_t i)
{
    return i >= p->before[dim] && i < p->before[dim] + p->in_shape[dim];
}

static void fill(int8_t *dst, int32_t count, int8_t value)
{
    for (int32_t i = 0; i < count; ++i) {
        dst[i] = value;
    }
}

void mcugen_pad_s8(const mcugen_pad_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t row = p->out_shape[4];
    const int32_t left = p->before[4];
    const int32_t copy = p->in_shape[4];
    const int32_t right = row - left - copy;
    for (int32_t i0 = 0; i0 < p->out_shape[0]; ++i0) {
        const int in0 = inside(p, 0, i0);
        for (int32_t i1 = 0; i1 < p->out_shape[1]; ++i1) {
            const int in1 = in0 && inside(p, 1, i1);
            for (int32_t i2 = 0; i2 < p->out_shape[2]; ++i2) {
                const int in2 = in1 && inside(p, 2, i2);
                for (int32_t i3 = 0; i3 < p->out_shape[3]; ++i3) {
                    if (!(in2 && inside(p, 3, i3))) {
                        fill(output, row, p->pad_value);
                    } else {
                        fill(output, left, p->pad_value);
                        for (int32_t i = 0; i < copy; ++i) {
                            output[left + i] = input[i];
                        }
                        input += copy;
                        fill(output + left + copy, right, p->pad_value);
                    }
                    output += row;
                }
            }
        }
    }
}
