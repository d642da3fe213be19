#ifndef MCUGEN_SPLIT_H
#define MCUGEN_SPLIT_H

#include "mcugen_common.h"

/* SPLIT, SPLIT_V and UNPACK, int8: the inverse of a concatenation, a pure copy.
 * The input is viewed as `outer` slices (the product of the dimensions before
 * the axis); each slice holds, output after output, a run of copy_size[k]
 * elements (output k's extent along the axis times the product of the
 * dimensions after it; UNPACK's outputs each take extent 1). Output k receives
 * its run of every slice, one after the other, as TFLM's SplitImpl and
 * UnpackImpl copy them. */
typedef struct {
    int32_t outer;
    int32_t num_outputs;
    const int32_t *copy_size; /* num_outputs entries */
} mcugen_split_params_t;

void mcugen_split_s8(const mcugen_split_params_t *p, const int8_t *input, int8_t *const *outputs);

#endif
