#include "relu.h"

void mcugen_relu_s8(const mcugen_relu_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const int32_t y = mcugen_requantize(x, p->output.multiplier, p->output.shift) + p->output_zero_point;
        output[i] = (int8_t)mcugen_clamp(y, p->act.min, p->act.max);
    }
}

void mcugen_relu6_s8(const mcugen_relu6_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)mcugen_clamp(input[i], p->act.min, p->act.max);
    }
}

void mcugen_leaky_relu_s8(const mcugen_leaky_relu_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const mcugen_requant_t *rq = x >= 0 ? &p->identity : &p->alpha;
        const int32_t y = mcugen_requantize(x, rq->multiplier, rq->shift) + p->output_zero_point;
        output[i] = (int8_t)mcugen_clamp(y, INT8_MIN, INT8_MAX);
    }
}
