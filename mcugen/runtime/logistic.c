#include "logistic.h"

#include "fixedpoint.h"

#define INPUT_INTEGER_BITS 4
#define OUTPUT_ZERO_POINT (-128)

void mcugen_logistic_s8(const mcugen_logistic_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t x_q4 = mcugen_requantize(x, p->input_multiplier, p->input_shift);
            const int32_t y_q0 = mcugen_fp_logistic(x_q4, INPUT_INTEGER_BITS);
            /* Q0.31 -> units of 1/256 */
            const int32_t y = mcugen_rounding_divide_by_pot(y_q0, 31 - 8) + OUTPUT_ZERO_POINT;
            output[i] = (int8_t)mcugen_clamp(y, INT8_MIN, INT8_MAX);
        }
    }
}
