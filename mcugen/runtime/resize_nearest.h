#ifndef MCUGEN_RESIZE_NEAREST_H
#define MCUGEN_RESIZE_NEAREST_H

#include "mcugen_common.h"

/* RESIZE_NEAREST_NEIGHBOR, int8, NHWC. Which input row and column each output
 * row and column reads depends only on the sizes and the align_corners /
 * half_pixel_centers flags, so the generator evaluates TFLM's float32
 * GetNearestNeighbor once per output row and column and bakes the resulting
 * input offsets; the kernel is then a pure copy of depth-long pixels. */
typedef struct {
    int32_t batches;
    int32_t out_height;
    int32_t out_width;
    int32_t depth;
    int32_t in_batch_stride;   /* input elements per batch: in_height * in_width * depth */
    const int32_t *row_offset; /* per output row: in_y * in_width * depth */
    const int32_t *col_offset; /* per output column: in_x * depth */
} mcugen_resize_nearest_params_t;

void mcugen_resize_nearest_s8(const mcugen_resize_nearest_params_t *p, const int8_t *input, int8_t *output);

#endif
