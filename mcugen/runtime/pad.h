#ifndef MCUGEN_PAD_H
#define MCUGEN_PAD_H

#include "mcugen_common.h"

/* PAD / PADV2, int8: constant padding, up to 5 dimensions (TFLM's limit).
 *
 * The generator folds every unpadded dimension into the next outer one, so a
 * typical 1xHxWxC image pad arrives as 1x1x1xH'x(W'*C) rows; the kernel walks
 * the four outer dimensions and fills or copies whole innermost rows. The
 * input is consumed strictly in order, as TFLM's reference does. */
#define MCUGEN_PAD_DIMS 5

typedef struct {
    int32_t out_shape[MCUGEN_PAD_DIMS]; /* output extents, outermost first */
    int32_t before[MCUGEN_PAD_DIMS];    /* padding before the data, per dimension */
    int32_t in_shape[MCUGEN_PAD_DIMS];  /* input extents */
    int8_t pad_value; /* output zero point (PAD) or the constant value (PADV2) */
} mcugen_pad_params_t;

void mcugen_pad_s8(const mcugen_pad_params_t *p, const int8_t *input, int8_t *output);

#endif
