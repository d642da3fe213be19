#ifndef MCUGEN_PACK_H
#define MCUGEN_PACK_H

#include "mcugen_common.h"

/* PACK, int8: stack num_inputs equally shaped tensors along a new axis, a pure
 * copy. Every input is viewed as `outer` runs of copy_size elements (outer:
 * the product of the output dimensions before the axis; copy_size: of those
 * after it); output slice o is input 0's run o, then input 1's run o, and so
 * on, as TFLM's PackImpl lays them out. */
typedef struct {
    int32_t outer;
    int32_t num_inputs;
    int32_t copy_size;
} mcugen_pack_params_t;

void mcugen_pack_s8(const mcugen_pack_params_t *p, const int8_t *const *inputs, int8_t *output);

#endif
