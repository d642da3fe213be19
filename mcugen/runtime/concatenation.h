#ifndef MCUGEN_CONCATENATION_H
#define MCUGEN_CONCATENATION_H

#include "mcugen_common.h"

/* CONCATENATION, int8. TFLM requires every input to share the output's scale
 * and zero point, so this is a pure copy: for each of `outer` slices (the
 * product of the dimensions before the axis) every input contributes a run of
 * copy_size[i] = its extent along the axis times the product of the dimensions
 * after it. TFLM accepts at most 10 inputs. */
#define MCUGEN_CONCAT_MAX_INPUTS 10

typedef struct {
    int32_t outer;
    int32_t num_inputs;
    int32_t copy_size[MCUGEN_CONCAT_MAX_INPUTS];
} mcugen_concatenation_params_t;

void mcugen_concatenation_s8(const mcugen_concatenation_params_t *p, const int8_t *const *inputs,
                             int8_t *output);

#endif
