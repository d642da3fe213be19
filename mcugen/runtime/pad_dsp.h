#ifndef MCUGEN_PAD_DSP_H
#define MCUGEN_PAD_DSP_H

#include "mcugen_simd.h"

/* PAD / PADV2, int8, with word moves: the arm-dsp variant of mcugen_pad_s8, with the
 * same output (up to 5 dimensions, the generator folding every unpadded dimension
 * into the next outer one, so rows are as long as they can be).
 *
 * Each output row is a fill, a copy of one input row and a fill. Fills store the
 * pad byte four at a time from a word-aligned address; copies move words (two per
 * LDRD / STRD when source and destination are equally aligned, else unaligned word
 * loads, which Cortex-M4 and M7 allow, into aligned stores). */
#define MCUGEN_PAD_DSP_DIMS 5

typedef struct {
    int32_t out_shape[MCUGEN_PAD_DSP_DIMS]; /* output extents, outermost first */
    int32_t before[MCUGEN_PAD_DSP_DIMS];    /* padding before the data, per dimension */
    int32_t in_shape[MCUGEN_PAD_DSP_DIMS];  /* input extents */
    int8_t pad_value; /* output zero point (PAD) or the constant value (PADV2) */
} mcugen_pad_dsp_params_t;

void mcugen_pad_s8_dsp(const mcugen_pad_dsp_params_t *p, const int8_t *input, int8_t *output);

#endif
