#include "fully_connected.h"

void mcugen_fully_connected_s8(const mcugen_fully_connected_params_t *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + b * p->accum_depth;
        for (int32_t u = 0; u < p->output_depth; ++u) {
            const int8_t *w = weights + u * p->accum_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += ((int32_t)w[d] + p->weights_offset) * ((int32_t)row[d] + p->input_offset);
            }
            if (bias != NULL) {
                acc += bias[u];
            }
            const mcugen_requant_t *rq = &p->requant[p->per_channel ? u : 0];
            int32_t out = mcugen_requantize(acc, rq->multiplier, rq->shift) + p->output_offset;
            output[b * p->output_depth + u] = (int8_t)mcugen_clamp(out, p->act.min, p->act.max);
        }
    }
}
