#ifndef MCUGEN_CONV_DSP_H
#define MCUGEN_CONV_DSP_H

#include "mcugen_simd.h"

/* CONV_2D (and FULLY_CONNECTED, and a depthwise convolution of a one-channel
 * input, which is a convolution too) as a matrix product on the Arm DSP
 * extension: the arm-dsp variant of mcugen_conv_s8, with the same results.
 *
 * For two output pixels at a time, the window of each is copied into scratch as
 * one "column" of int16 values with the input offset already added (SXTAB16 widens
 * four bytes and adds the offset in two instructions, so the offset costs nothing),
 * 0 for taps outside the image (TFLM skips them: they add nothing) and for the
 * zero padding up to a multiple of four. Each group of four values k..k+3 is stored
 * as the words (x[k], x[k+2]) and (x[k+1], x[k+3]): the halves SXTB16 and
 * SXTB16 ROR #8 extract from four filter bytes, so the filter needs no widening
 * copy. Two output channels' filters are read at once (one LDRD), so each step does
 * 2 pixels x 2 channels x 4 taps with 8 SMLADs.
 *
 * Filter layout (mcugen/codegen/ops/dsp.py: pack_rows_dsp), in words of four int8
 * taps: output channels in pairs; for each pair and each group of four taps, the
 * first channel's word then the second's; an odd last channel alone. Taps in OHWI
 * order, zero-padded to depth4. */
typedef struct {
    mcugen_dims_t input;  /* NHWC */
    mcugen_dims_t output; /* NHWC; output.n == input.n */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h; /* rows of padding above the image (TFLM ComputePaddingHeightWidth) */
    int32_t pad_w; /* columns of padding left of the image */
    int32_t depth4; /* filter_h * filter_w * input.c, rounded up to a multiple of 4 */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    mcugen_act_range_t act;
    const mcugen_requant_dsp_t *channels; /* one per output channel, with its bias */
    /* 1 when act is all of int8: channels with e >= 2 then take the merged output
     * stage, mcugen_requantize_dsp_merged and one SSAT. */
    int32_t full_range;
    /* Elements from one output pixel to the next: output.c, or more when the output
     * is one slice of a wider tensor (the channels of a concatenation, written in place). */
    int32_t output_stride;
    /* For few input channels (input.c not a multiple of 4): the byte offset of every
     * value of a window from its first, in the window's order (k = (fy * filter_w + fx)
     * * input.c + ic), 0 past depth (the padding to depth4, which meets zero weights);
     * made by the generator. An interior window is then read value by value with no
     * bounds to check. NULL: every window is gathered row by row (also when an offset
     * would not fit int16). */
    const int16_t *offsets;
} mcugen_conv_dsp_params_t;

/* Scratch: three columns of depth4 int16 values, depth4 bytes to gather a window in,
 * and output.c bytes (rounded up to even) for the results of pixels past the last one. */
static inline int32_t mcugen_conv_dsp_scratch_bytes(const mcugen_conv_dsp_params_t *p)
{
    return 3 * p->depth4 * (int32_t)sizeof(int16_t) + p->depth4 + ((p->output.c + 1) & ~1);
}

/* filter: the packed filter as little-endian words (four int8 taps each). */
void mcugen_conv_s8_dsp(const mcugen_conv_dsp_params_t *p, const int8_t *input, const uint32_t *filter,
                        int8_t *output, int16_t *scratch);

/* FULLY_CONNECTED on the Arm DSP extension: each batch's input row is widened as
 * it is read (no scratch: every unit reads it once per pair of units anyway).
 * weights: [units][depth] packed like the convolution's filter (units in pairs,
 * words of four taps, zero-padded to depth4). Weight zero point 0 (int8). */
typedef struct {
    int32_t batches;
    int32_t depth;  /* input values per batch */
    int32_t depth4; /* depth rounded up to a multiple of 4 */
    int32_t units;  /* outputs per batch */
    int32_t input_offset;
    int32_t output_offset;
    mcugen_act_range_t act;
    const mcugen_requant_dsp_t *channels; /* one per unit, with its bias */
} mcugen_fully_connected_dsp_params_t;

void mcugen_fully_connected_s8_dsp(const mcugen_fully_connected_dsp_params_t *p, const int8_t *input,
                                   const uint32_t *weights, int8_t *output);

#endif
