#ifndef MCUGEN_STRIDED_SLICE_H
#define MCUGEN_STRIDED_SLICE_H

#include "mcugen_common.h"

/* STRIDED_SLICE, int8, as a strided gather. The generator resolves begin, end,
 * strides and the masks with TFLM's strided_slice_logic.h rules, then bakes per
 * dimension how many elements are taken and how far apart they lie in the
 * input (negative for a reversed axis). Dimensions that take one element are
 * dropped and contiguous runs merged, so `count[4]` is usually a long run. */
#define MCUGEN_STRIDED_SLICE_DIMS 5

typedef struct {
    int32_t start;                            /* input offset of the first element taken */
    int32_t count[MCUGEN_STRIDED_SLICE_DIMS]; /* elements taken per dimension, outermost first */
    int32_t step[MCUGEN_STRIDED_SLICE_DIMS];  /* input elements between neighbours in each dimension */
} mcugen_strided_slice_params_t;

void mcugen_strided_slice_s8(const mcugen_strided_slice_params_t *p, const int8_t *input, int8_t *output);

#endif
