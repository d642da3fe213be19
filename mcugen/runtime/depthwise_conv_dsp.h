#ifndef MCUGEN_DEPTHWISE_CONV_DSP_H
#define MCUGEN_DEPTHWISE_CONV_DSP_H

#include "mcugen_common.h"
#include "mcugen_simd.h"

/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, dilation 1, for cores with the Arm
 * DSP extension (Cortex-M4 / M7); bit-exact with mcugen_depthwise_conv_s8 (and so
 * with TFLite Micro). On other targets it compiles through mcugen_simd.h's portable C.
 *
 * Per output (b, oy, ox, c):
 *   acc = channels[c].bias + sum over fy < filter_h, fx < filter_w of
 *         filter[fy][fx][c] * X(b, oy * stride_h - pad_h + fy, ox * stride_w - pad_w + fx, c)
 *   out = clamp(mcugen_requantize_dsp(acc, &channels[c]) + output_offset, act)
 * where X is the input inside the image and input_zero_point outside it, and acc
 * wraps modulo 2^32. The generator folds the input offset into the bias:
 *   channels[c].bias = bias[c] - input_zero_point * (sum of all filter_h * filter_w taps of channel c)
 * so that a padded tap (input_zero_point) adds exactly 0, as TFLM's skipped taps do.
 *
 * How it works: channels are taken four at a time. For a band of up to
 * MCUGEN_DW_DSP_BAND_ROWS output rows it copies the four channels' input into four
 * int16 planes in scratch (padding included), so that neighbouring taps are
 * neighbouring halfwords and SMLAD does two multiply-accumulates at once; then, one
 * channel at a time, it accumulates the band's outputs into an int32 buffer, two
 * outputs per step (3x3 filters at stride 1 or 2 along the rows keep all taps in
 * registers), and requantizes that buffer into the output, strided by C. Channels
 * whose bias and shift allow it (all real ones) requantize in three instructions
 * (SMMLAR on a doubled accumulator); the rest through mcugen_requantize_dsp. When
 * out_h > out_w the kernel walks the transposed problem, so that its rows are the
 * longer side (mcugen_depthwise_conv_dsp_transposed).
 *
 * Cost on Cortex-M7 (instructions executed, everything included, measured under QEMU):
 * 3x3 stride 1 about 2.2 per multiply-accumulate on 48x48x16, 2.6 on 12x12x96, 2.7 on
 * 25x5x64; 3x3 stride 2 about 2.9 (49x49x48 -> 24x24). The portable kernel: 14-16. */
typedef struct {
    mcugen_dims_t input;  /* NHWC, input.c == output.c */
    mcugen_dims_t output; /* NHWC */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h; /* >= 1 */
    int32_t stride_w; /* >= 1 */
    int32_t pad_h;    /* rows of padding above the image (TFLM's padding) */
    int32_t pad_w;    /* columns of padding left of the image */
    int32_t input_zero_point;
    int32_t output_offset; /* output zero point */
    mcugen_act_range_t act;
    const mcugen_requant_dsp_t *channels; /* one per channel; .bias as above */
    /* &mcugen_depthwise_conv_dsp_general for a layer that needs the general paths (any
     * filter but 3x3 at stride 1 or 2 along the rows the kernel walks, or a channel
     * count not a multiple of 4: mcugen_depthwise_conv_dsp_needs_general), else NULL.
     * Reached through it, those paths are linked only into firmware that uses them. */
    const struct mcugen_depthwise_conv_dsp_general_s *general;
    /* Elements from one output pixel to the next: output.c, or more when the output
     * is one slice of a wider tensor (the channels of a concatenation, written in place). */
    int32_t output_stride;
} mcugen_depthwise_conv_dsp_params_t;

/* The general paths: any filter and stride, and the last channels when C % 4 != 0. */
typedef struct mcugen_depthwise_conv_dsp_general_s {
    void (*pack_taps)(const void *view, const void *layout, const int8_t *filter_c, int32_t scale, uint32_t *taps);
    void (*accumulate)(const uint32_t *plane, int32_t row_words, int32_t rows, int32_t stride_rows,
                       int32_t stride_cols, int32_t out_cols, const uint32_t *taps, int32_t entries2, uint32_t bias,
                       uint32_t *acc);
    void (*build_one)(const void *layout, uint32_t *plane, const void *source);
} mcugen_depthwise_conv_dsp_general_t;

extern const mcugen_depthwise_conv_dsp_general_t mcugen_depthwise_conv_dsp_general;

/* Channels per group, and output rows per band (see the scratch rule below). */
#define MCUGEN_DW_DSP_GROUP 4
#define MCUGEN_DW_DSP_BAND_ROWS 8

/* filter: [filter_h][filter_w][C], the model's own layout. scratch: at least
 * mcugen_depthwise_conv_dsp_scratch_bytes(p) bytes, 16-byte aligned. */
void mcugen_depthwise_conv_s8_dsp(const mcugen_depthwise_conv_dsp_params_t *p, const int8_t *input,
                                  const int8_t *filter, int8_t *output, int16_t *scratch);

/* Whether the kernel works on the transposed problem: it makes the longer output
 * side its rows (see depthwise_conv_dsp.c). */
static inline int32_t mcugen_depthwise_conv_dsp_transposed(const mcugen_depthwise_conv_dsp_params_t *p)
{
    return p->output.h > p->output.w;
}

/* Whether a layer takes the 3x3 paths that keep the taps in registers: a 3x3 filter,
 * stride 1 or 2 along the rows of the (possibly transposed) problem, rows of at most
 * 2^16 outputs. The generator mirrors it (mcugen/codegen/ops/conv.py). */
static inline int32_t mcugen_depthwise_conv_dsp_is_3x3(const mcugen_depthwise_conv_dsp_params_t *p)
{
    const int32_t transposed = mcugen_depthwise_conv_dsp_transposed(p);
    const int32_t stride_cols = transposed ? p->stride_h : p->stride_w;
    const int32_t out_cols = transposed ? p->output.h : p->output.w;
    return p->filter_h == 3 && p->filter_w == 3 && (out_cols + 1) / 2 <= 0x8000 &&
           (stride_cols == 1 || stride_cols == 2);
}

static inline int32_t mcugen_depthwise_conv_dsp_needs_general(const mcugen_depthwise_conv_dsp_params_t *p)
{
    return !mcugen_depthwise_conv_dsp_is_3x3(p) || p->input.c % MCUGEN_DW_DSP_GROUP != 0;
}

/* Scratch size in bytes. The same rule, for the generator to mirror (integer
 * arithmetic, / truncating); 0 when the output is empty:
 *
 *   if out_h > out_w: swap (out_h, out_w), (filter_h, filter_w), (stride_h, stride_w)
 *   out_w_even  = out_w + out_w % 2
 *   cols        = (out_w_even - 1) * stride_w + filter_w + filter_w % 2
 *   plane_w     = cols + cols % 2                               (int16 per plane row)
 *   band        = min(out_h, 8)                                 (MCUGEN_DW_DSP_BAND_ROWS)
 *   plane_rows  = (band - 1) * stride_h + filter_h
 *   planes      = min(C, 4)                                     (MCUGEN_DW_DSP_GROUP)
 *   acc_words   = round_up_4(band * out_w + 1)                  (int32 accumulators)
 *   taps_words  = planes * round_up_4(2 * filter_h * ((filter_w + 1) / 2))
 *   plane_words = plane_rows * plane_w / 2
 *   bytes       = 4 * (acc_words + taps_words + planes * plane_words)
 *
 * with round_up_4(n) = (n + 3) / 4 * 4. E.g. 48x48x16 3x3 stride 1 SAME: 5904 bytes;
 * 49x49x48 -> 24x24 3x3 stride 2 VALID: 7776 bytes; 25x5x64 3x3 stride 1 SAME: 2384. */
static inline int32_t mcugen_depthwise_conv_dsp_scratch_bytes(const mcugen_depthwise_conv_dsp_params_t *p)
{
    if (p->output.n <= 0 || p->output.h <= 0 || p->output.w <= 0 || p->output.c <= 0) {
        return 0;
    }
    const int32_t swap = mcugen_depthwise_conv_dsp_transposed(p);
    const int32_t out_h = swap ? p->output.w : p->output.h;
    const int32_t out_w = swap ? p->output.h : p->output.w;
    const int32_t filter_h = swap ? p->filter_w : p->filter_h;
    const int32_t filter_w = swap ? p->filter_h : p->filter_w;
    const int32_t stride_h = swap ? p->stride_w : p->stride_h;
    const int32_t stride_w = swap ? p->stride_h : p->stride_w;
    const int32_t out_w_even = out_w + out_w % 2;
    const int32_t cols = (out_w_even - 1) * stride_w + filter_w + filter_w % 2;
    const int32_t plane_w = cols + cols % 2;
    const int32_t band = out_h < MCUGEN_DW_DSP_BAND_ROWS ? out_h : MCUGEN_DW_DSP_BAND_ROWS;
    const int32_t plane_rows = (band - 1) * stride_h + filter_h;
    const int32_t planes = p->input.c < MCUGEN_DW_DSP_GROUP ? p->input.c : MCUGEN_DW_DSP_GROUP;
    const int32_t acc_words = (band * out_w + 1 + 3) / 4 * 4;
    const int32_t taps_words = planes * ((2 * filter_h * ((filter_w + 1) / 2) + 3) / 4 * 4);
    const int32_t plane_words = plane_rows * plane_w / 2;
    return 4 * (acc_words + taps_words + planes * plane_words);
}

#endif
