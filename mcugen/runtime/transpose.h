#ifndef MCUGEN_TRANSPOSE_H
#define MCUGEN_TRANSPOSE_H

#include "mcugen_common.h"

/* TRANSPOSE, int8, up to 5 dimensions. Output dimension d walks input
 * dimension perm[d]; the generator bakes, per output dimension, its extent and
 * the input stride of perm[d], after dropping size-1 dimensions and merging
 * runs that stay contiguous in the input. */
#define MCUGEN_TRANSPOSE_DIMS 5

typedef struct {
    int32_t shape[MCUGEN_TRANSPOSE_DIMS];  /* output extents, outermost first */
    int32_t stride[MCUGEN_TRANSPOSE_DIMS]; /* input elements per step along each output dimension */
} mcugen_transpose_params_t;

void mcugen_transpose_s8(const mcugen_transpose_params_t *p, const int8_t *input, int8_t *output);

#endif
