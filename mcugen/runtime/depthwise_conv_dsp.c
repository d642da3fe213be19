#include "depthwise_conv_dsp.h"

/* The hot loops stay functions of their own: inlined into the kernel they would share
 * the register allocator with its bookkeeping, and GCC then spills inside them. */
#if defined(__GNUC__) || defined(__clang__)
#define DW_NOINLINE __attribute__((noinline))
#else
#define DW_NOINLINE
#endif
#ifndef MCUGEN_KEEP_ORDER
#define MCUGEN_KEEP_ORDER
#endif

/* DW_OPAQUE(p): p's value as the compiler sees it comes from nowhere. Placed after a
 * pointer step it stops GCC's induction-variable pass from turning the loads at p and
 * p + step into two pointers of their own (and then spilling for want of registers). */
#if defined(__GNUC__) || defined(__clang__)
#define DW_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define DW_OPAQUE(p) ((void)0)
#endif

static int32_t dw_min(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static int32_t dw_max(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* Two int16 halves as one word: bottom, top. */
static uint32_t dw_pack16(int32_t bottom, int32_t top)
{
    return ((uint32_t)bottom & 0xFFFFu) | ((uint32_t)top << 16);
}

/* ---- The problem as the kernel walks it ----------------------------------------------
 *
 * The work goes row by row, two outputs of a row at a time, and every row costs a
 * little on top of its outputs (and an odd row length one wasted output), so the
 * longer output side should be the rows: when out_h > out_w the kernel walks the
 * transposed problem (image, filter, output, strides and padding all swapped; for a
 * 25x5 output, five rows of 25 instead of 25 rows of five). Steps are in bytes, for one
 * channel; the channels of a pixel stay contiguous either way. */
typedef struct {
    int32_t in_rows, in_cols;
    int32_t in_row_step, in_col_step;
    int32_t out_rows, out_cols;
    int32_t out_row_step, out_col_step;
    int32_t filter_rows, filter_cols;
    int32_t tap_row_step, tap_col_step;
    int32_t stride_rows, stride_cols;
    int32_t pad_rows, pad_cols;
} dw_view_t;

MCUGEN_COLD_FOR_SIZE static void dw_view(const mcugen_depthwise_conv_dsp_params_t *p, dw_view_t *v)
{
    const int32_t C = p->input.c;
    const int32_t in_h = p->input.h, in_w = p->input.w, out_h = p->output.h, out_w = p->output.w;
    const int32_t fh = p->filter_h, fw = p->filter_w;
    const int32_t S = p->output_stride; /* C, or more in a slice of a wider tensor */
    if (mcugen_depthwise_conv_dsp_transposed(p)) {
        *v = (dw_view_t){in_w, in_h, C, in_w * C, out_w, out_h, S, out_w * S, fw, fh, C, fw * C,
                         p->stride_w, p->stride_h, p->pad_w, p->pad_h};
    } else {
        *v = (dw_view_t){in_h, in_w, in_w * C, C, out_h, out_w, out_w * S, S, fh, fw, fw * C, C,
                         p->stride_h, p->stride_w, p->pad_h, p->pad_w};
    }
}

/* ---- Scratch layout ------------------------------------------------------------------
 *
 * A plane holds one channel of a band of input rows as int16, padding included:
 * plane column px is view column px - pad_cols, plane row py is view row
 * band_row0 * stride_rows - pad_rows + py. Plane rows are word aligned (plane_w is
 * even), so the pair (px, px + 1) with px even is one aligned word. Outputs are made
 * two at a time; when out_cols is odd the last pair's second output is computed and
 * thrown away, which is why the plane has a spare column or two. */
typedef struct {
    int32_t pairs;       /* output pairs per row: ceil(out_cols / 2) */
    int32_t row_words;   /* words per plane row: plane_w / 2 */
    int32_t plane_words; /* words per plane */
    int32_t band_rows;   /* output rows per band */
    int32_t taps_words;  /* dw_generic's entries per channel: 2 per tap pair, rounded up to 4 */
    /* How an image row becomes a plane row, word by word from the left: lead_words of
     * padding; if head, one word (padding, pixel); body_pairs words of two pixels; if
     * tail, one word (pixel, padding); the rest padding. first_pixel is the view
     * column of the first pixel placed (nonzero only for a negative pad_cols). */
    int32_t lead_words;
    int32_t head;
    int32_t body_pairs;
    int32_t tail;
    int32_t first_pixel;
    uint32_t *acc;    /* band_rows * out_cols + 1 accumulators */
    uint32_t *taps;   /* MCUGEN_DW_DSP_GROUP * taps_words */
    uint32_t *planes; /* MCUGEN_DW_DSP_GROUP planes */
} dw_layout_t;

MCUGEN_COLD_FOR_SIZE static void dw_layout(const mcugen_depthwise_conv_dsp_params_t *p, const dw_view_t *v, int16_t *scratch,
                      dw_layout_t *L)
{
    /* The same arithmetic as mcugen_depthwise_conv_dsp_scratch_bytes. */
    const int32_t out_cols_even = v->out_cols + v->out_cols % 2;
    const int32_t cols = (out_cols_even - 1) * v->stride_cols + v->filter_cols + v->filter_cols % 2;
    const int32_t plane_w = cols + cols % 2;
    const int32_t band = dw_min(v->out_rows, MCUGEN_DW_DSP_BAND_ROWS);
    const int32_t plane_rows = (band - 1) * v->stride_rows + v->filter_rows;
    const int32_t planes = dw_min(p->input.c, MCUGEN_DW_DSP_GROUP);
    const int32_t acc_words = (band * v->out_cols + 1 + 3) / 4 * 4;

    L->pairs = out_cols_even / 2;
    L->row_words = plane_w / 2;
    L->plane_words = plane_rows * L->row_words;
    L->band_rows = band;
    L->taps_words = (2 * v->filter_rows * ((v->filter_cols + 1) / 2) + 3) / 4 * 4;
    L->acc = (uint32_t *)(void *)scratch;
    L->taps = L->acc + acc_words;
    L->planes = L->taps + planes * L->taps_words;

    /* Plane columns [valid_begin, valid_end) hold pixels. */
    const int32_t valid_begin = mcugen_clamp(v->pad_cols, 0, plane_w);
    const int32_t valid_end = mcugen_clamp(v->pad_cols + v->in_cols, valid_begin, plane_w);
    int32_t px = valid_begin;
    L->lead_words = valid_begin / 2;
    L->head = 0;
    if (valid_begin % 2 != 0) {
        if (valid_end > valid_begin) {
            L->head = 1;
            px += 1;
        } else {
            L->lead_words += 1; /* the mixed word has no pixel: all padding */
        }
    }
    L->body_pairs = dw_max(valid_end - px, 0) / 2;
    L->tail = dw_max(valid_end - px, 0) % 2;
    L->first_pixel = valid_begin - v->pad_cols;
}

/* ---- Channel setup -------------------------------------------------------------------- */

/* What one channel needs once its taps are packed. */
typedef struct {
    uint32_t bias;      /* accumulator start: the folded bias, doubled on the fast path */
    int32_t fast;       /* requantize with dw_fast_value (see dw_setup_channel) */
    int32_t multiplier; /* fast path: m */
    int32_t round_zp;   /* fast path: 2^(e-1) + output_offset * 2^e */
    int32_t right;      /* fast path: e */
    const mcugen_requant_dsp_t *rq;
} dw_channel_t;

/* The fast requantization needs, besides TFLM's multiplier in [0, 2^31) with
 * shift <= -1 (left == 0, right = e >= 1):
 *   - |acc| < 2^30 for every possible input, so that the doubled accumulator 2*acc
 *     fits int32 and never wraps. Every product w * X is at most 2^14 in magnitude,
 *     so |bias| + 2^14 * taps < 2^30 is enough (any real bias passes; the exact path
 *     takes the rest);
 *   - e <= 21 and |output_offset| <= 256, so that 2^(e-1) + output_offset * 2^e is
 *     below 2^30 in magnitude and the sums below stay inside int32.
 * Then with x = acc: TFLM's r = floor((x*m + 2^30) / 2^31) = SMMLAR(2x, m, 0), and its
 * rounding divide by 2^e, which rounds half away from zero, is
 *   floor((r + 2^(e-1) - [r < 0]) / 2^e),
 * where [r < 0] may be replaced by [x < 0]: the two differ only when r == 0, and then
 * both give 0. The output offset rides along as + output_offset * 2^e. So
 *   out = (SMMLAR(2x, m, 2^(e-1) + output_offset * 2^e) + (2x >> 31)) >> e,
 * three instructions. The doubling is free: the packed taps and the bias are doubled.
 * Any other channel takes the exact path (mcugen_requantize_dsp on the plain acc). */
MCUGEN_COLD_FOR_SIZE static void dw_setup_channel(const mcugen_depthwise_conv_dsp_params_t *p, const dw_view_t *v,
                             const mcugen_requant_dsp_t *rq, dw_channel_t *ch)
{
    const int32_t taps_total = v->filter_rows * v->filter_cols;
    /* <= 0 for absurdly large filters, and then no bias passes */
    const int32_t bias_bound = taps_total < (1 << 16) ? (1 << 30) - (1 << 14) * taps_total : 0;
    const int32_t right = rq->right, zp = p->output_offset;
    /* Only with act all of int8 (SSAT the whole clamp): other ranges are rare enough
     * that a fast path of their own is not worth its flash. */
    const int32_t full_range = p->act.min == -128 && p->act.max == 127;
    const int32_t fast = full_range && rq->left == 0 && right >= 1 && right <= 21 && zp >= -256 && zp <= 256 &&
                         rq->multiplier >= 0 && rq->bias > -bias_bound && rq->bias < bias_bound;
    ch->fast = fast;
    ch->rq = rq;
    ch->multiplier = rq->multiplier;
    ch->round_zp = fast ? (1 << (right - 1)) + zp * (1 << right) : 0;
    ch->right = right;
    ch->bias = fast ? (uint32_t)rq->bias * 2u : (uint32_t)rq->bias;
}

/* The channel's taps for dw_generic (filter_c: its tap (0, 0)): entries (tap pair,
 * byte offset of the pair's first value in the plane from the window's corner), row
 * by row of the view. A pair is (w[r][2k], w[r][2k+1]); an odd last tap pairs with 0,
 * so the neighbour it meets in the plane adds nothing. Scale is 2 on the fast path.
 * Padded with (0, 0) to an even count of entries for the loop's unrolling. */
MCUGEN_COLD_FOR_SIZE static void dw_pack_taps(const dw_view_t *v, const dw_layout_t *L, const int8_t *filter_c, int32_t scale,
                         uint32_t *taps)
{
    const int32_t step = v->tap_col_step;
    const uint32_t row_bytes = 4u * (uint32_t)L->row_words;
    uint32_t *t = taps;
    for (int32_t r = 0; r < v->filter_rows; ++r) {
        const int8_t *w = filter_c + r * v->tap_row_step;
        uint32_t offset = (uint32_t)r * row_bytes;
        int32_t k = v->filter_cols;
        for (; k >= 2; k -= 2) {
            *t++ = dw_pack16(w[0] * scale, w[step] * scale);
            *t++ = offset;
            w += 2 * step;
            offset += 4;
        }
        if (k != 0) {
            *t++ = dw_pack16(w[0] * scale, 0);
            *t++ = offset;
        }
    }
    if ((t - taps) % 4 != 0) {
        *t++ = 0;
        *t++ = 0;
    }
}

/* ---- Plane building --------------------------------------------------------------------- */

static void dw_fill(uint32_t *q, int32_t words, uint32_t value)
{
    for (int32_t i = 0; i < words; ++i) {
        q[i] = value;
    }
}

/* Where a band's planes come from. */
typedef struct {
    const int8_t *image; /* this batch's input, at the group's first channel */
    int32_t row_step;    /* bytes between view rows */
    int32_t col_step;    /* bytes between view columns (pixels) */
    int32_t in_rows;
    int32_t row0;        /* view row of plane row 0 */
    int32_t rows;        /* plane rows to build */
    uint32_t zp2;        /* the input zero point in both halves */
} dw_source_t;

/* Plane rows of four channels (one word per pixel) into four planes. A pair of
 * pixels w0 = [a0 b0 c0 d0], w1 = [a1 b1 c1 d1] (bytes of channels a..d) becomes
 * PKHBT = [a0 b0 a1 b1] and PKHTB = [c0 d0 c1 d1], and SXTB16 (ROR 8) of those are
 * the four channels' words (a0, a1), (b0, b1), (c0, c1), (d0, d1): six instructions
 * for eight values. Four pixels at a time the stores are STRDs: 24 instructions per
 * 16 values with the loads and the loop. */
DW_NOINLINE MCUGEN_KEEP_ORDER static void dw_build4(const dw_layout_t *L, const dw_source_t *src)
{
    const int32_t step = src->col_step;
    const uint32_t zp2 = src->zp2;
    const int32_t plane_words = L->plane_words, row_words = L->row_words;
    const int32_t head = L->head, quads = L->body_pairs / 2, odd_pair = L->body_pairs % 2, tail = L->tail;
    for (int32_t py = 0; py < src->rows; ++py) {
        const int32_t iy = src->row0 + py;
        uint32_t *q0 = L->planes + py * row_words;
        if (iy < 0 || iy >= src->in_rows) {
            for (int32_t k = 0; k < MCUGEN_DW_DSP_GROUP; ++k) {
                dw_fill(q0 + k * plane_words, row_words, zp2);
            }
            continue;
        }
        q0 += L->lead_words; /* the padding columns are already there (dw_fill_padding) */
        uint32_t *q1 = q0 + plane_words, *q2 = q1 + plane_words, *q3 = q2 + plane_words;
        const int8_t *x = src->image + iy * src->row_step + L->first_pixel * step;
        if (head) { /* (padding, pixel) */
            const uint32_t w = mcugen_read_u32(x);
            const uint32_t even = mcugen_sxtb16(w), odd = mcugen_sxtb16_ror8(w);
            x += step;
            *q0++ = mcugen_pkhbt16(zp2, even);
            *q1++ = mcugen_pkhbt16(zp2, odd);
            *q2++ = mcugen_pkhtb16(even, zp2);
            *q3++ = mcugen_pkhtb16(odd, zp2);
        }
        for (int32_t i = quads; i > 0; --i) { /* four pixels, two words per plane */
            const uint32_t w0 = mcugen_read_u32(x), w1 = mcugen_read_u32(x + step);
            x += 2 * step;
            DW_OPAQUE(x);
            const uint32_t ab01 = mcugen_pkhbt16(w0, w1), cd01 = mcugen_pkhtb16(w1, w0);
            const uint32_t w2 = mcugen_read_u32(x), w3 = mcugen_read_u32(x + step);
            x += 2 * step;
            DW_OPAQUE(x);
            const uint32_t ab23 = mcugen_pkhbt16(w2, w3), cd23 = mcugen_pkhtb16(w3, w2);
            mcugen_strd_post8(&q0, mcugen_sxtb16(ab01), mcugen_sxtb16(ab23));
            mcugen_strd_post8(&q1, mcugen_sxtb16_ror8(ab01), mcugen_sxtb16_ror8(ab23));
            mcugen_strd_post8(&q2, mcugen_sxtb16(cd01), mcugen_sxtb16(cd23));
            mcugen_strd_post8(&q3, mcugen_sxtb16_ror8(cd01), mcugen_sxtb16_ror8(cd23));
        }
        if (odd_pair) {
            const uint32_t w0 = mcugen_read_u32(x), w1 = mcugen_read_u32(x + step);
            x += 2 * step;
            const uint32_t ab = mcugen_pkhbt16(w0, w1), cd = mcugen_pkhtb16(w1, w0);
            *q0++ = mcugen_sxtb16(ab);
            *q1++ = mcugen_sxtb16_ror8(ab);
            *q2++ = mcugen_sxtb16(cd);
            *q3++ = mcugen_sxtb16_ror8(cd);
        }
        if (tail) { /* (pixel, padding) */
            const uint32_t w = mcugen_read_u32(x);
            const uint32_t even = mcugen_sxtb16(w), odd = mcugen_sxtb16_ror8(w);
            *q0 = mcugen_pkhbt16(even, zp2);
            *q1 = mcugen_pkhbt16(odd, zp2);
            *q2 = mcugen_pkhtb16(zp2, even);
            *q3 = mcugen_pkhtb16(zp2, odd);
        }
    }
}

/* Plane rows of one channel (src->image at that channel), for the last group when C
 * is not a multiple of four: a whole word per pixel could read past the tensor. */
DW_NOINLINE static void dw_build1(const dw_layout_t *L, uint32_t *plane, const dw_source_t *src)
{
    const int32_t step = src->col_step;
    const uint32_t zp2 = src->zp2;
    const int32_t zp = (int32_t)(int16_t)(zp2 & 0xFFFFu);
    for (int32_t py = 0; py < src->rows; ++py) {
        const int32_t iy = src->row0 + py;
        uint32_t *q = plane + py * L->row_words;
        if (iy < 0 || iy >= src->in_rows) {
            dw_fill(q, L->row_words, zp2);
            continue;
        }
        const int8_t *x = src->image + iy * src->row_step + L->first_pixel * step;
        q += L->lead_words;
        if (L->head) {
            *q++ = dw_pack16(zp, x[0]);
            x += step;
        }
        for (int32_t i = 0; i < L->body_pairs; ++i) {
            *q++ = dw_pack16(x[0], x[step]);
            x += 2 * step;
        }
        if (L->tail) {
            *q = dw_pack16(x[0], zp);
        }
    }
}

/* The padding columns left and right of the pixels: the same words in every plane
 * row of every band and channel group, so they are written once per call. */
MCUGEN_COLD_FOR_SIZE static void dw_fill_padding(const dw_layout_t *L, int32_t planes, uint32_t zp2)
{
    const int32_t right_begin = L->lead_words + L->head + L->body_pairs + L->tail;
    uint32_t *q = L->planes;
    for (int32_t row = planes * L->plane_words / L->row_words; row > 0; --row) {
        dw_fill(q, L->lead_words, zp2);
        dw_fill(q + right_begin, L->row_words - right_begin, zp2);
        q += L->row_words;
    }
}

/* ---- Accumulation: one channel, one band, into acc --------------------------------------
 *
 * acc row r (of the band) starts at acc + r * out_cols; pairs are stored whole, so an
 * odd row's spare output lands on the next row's first slot (overwritten next) or,
 * for the last row, on the buffer's extra word. */

/* 3x3 taps kept in registers: row pairs (w[r][0], w[r][1]), the third column's
 * (w[0][2], w[1][2]) in one word, w[2][2] alone (times scale, 2 on the fast path). */
typedef struct {
    uint32_t row01[3];
    uint32_t col2_01;
    uint32_t col2_2;
} dw_taps3x3_t;

MCUGEN_COLD_FOR_SIZE static void dw_taps3x3(const dw_view_t *v, const int8_t *filter_c, int32_t scale, dw_taps3x3_t *t)
{
    const int32_t step = v->tap_col_step;
    const int8_t *w0 = filter_c, *w1 = w0 + v->tap_row_step, *w2 = w1 + v->tap_row_step;
    t->row01[0] = dw_pack16(w0[0] * scale, w0[step] * scale);
    t->row01[1] = dw_pack16(w1[0] * scale, w1[step] * scale);
    t->row01[2] = dw_pack16(w2[0] * scale, w2[step] * scale);
    t->col2_01 = dw_pack16(w0[2 * step] * scale, w1[2 * step] * scale);
    t->col2_2 = dw_pack16(w2[2 * step] * scale, 0);
}

/* stride_cols 1. For the outputs (x, x + 1) and one filter row, the words
 * A = (X[x], X[x+1]), B = (X[x+2], X[x+3]) (one LDRD) and C = (X[x+1], X[x+2])
 * (an unaligned LDR) give
 *   out(x)   += SMLAD(A, w01) + w2 * bottom(B)
 *   out(x+1) += SMLAD(C, w01) + w2 * top(B)
 * six instructions for six multiply-accumulates; with the store and the loop, 21
 * instructions per pair of outputs. The 14 live values fill the registers: the pair
 * count rides in the top half of the w[2][2] word, whose bottom alone is read. */
DW_NOINLINE MCUGEN_KEEP_ORDER static void dw_3x3_stride1(const uint32_t *plane, int32_t row_words, int32_t rows,
                                                        int32_t stride_rows, int32_t out_cols,
                                                        const dw_taps3x3_t *t, uint32_t bias, uint32_t *acc)
{
    const uint32_t w0 = t->row01[0], w1 = t->row01[1], w2 = t->row01[2], wc = t->col2_01;
    const int32_t pairs = (out_cols + 1) / 2;
    const uint32_t last_and_count = (t->col2_2 & 0xFFFFu) | ((uint32_t)(pairs - 1) << 16);
    /* From where a row's loop leaves the row pointers to the next row's start. */
    const int32_t row_step = stride_rows * row_words - pairs;
    const int32_t spare = out_cols % 2;
    const uint32_t *r0 = plane;
    const uint32_t *r1 = r0 + row_words;
    const uint32_t *r2 = r1 + row_words;
    uint32_t *q = acc;
    uint32_t *const q_end = acc + rows * out_cols;
    do {
        uint32_t wl = last_and_count;
        do {
            uint32_t a, b, c, acc0, acc1;
            mcugen_ldrd_post4(&r0, &a, &b);
            acc0 = mcugen_smlad(a, w0, bias);
            c = mcugen_read_u32((const uint8_t *)r0 - 2);
            acc1 = mcugen_smlad(c, w0, bias);
            acc0 = mcugen_smlabb(wc, b, acc0);
            acc1 = mcugen_smlabt(wc, b, acc1);

            mcugen_ldrd_post4(&r1, &a, &b);
            acc0 = mcugen_smlad(a, w1, acc0);
            c = mcugen_read_u32((const uint8_t *)r1 - 2);
            acc1 = mcugen_smlad(c, w1, acc1);
            acc0 = mcugen_smlatb(wc, b, acc0);
            acc1 = mcugen_smlatt(wc, b, acc1);

            mcugen_ldrd_post4(&r2, &a, &b);
            acc0 = mcugen_smlad(a, w2, acc0);
            c = mcugen_read_u32((const uint8_t *)r2 - 2);
            acc1 = mcugen_smlad(c, w2, acc1);
            acc0 = mcugen_smlabb(wl, b, acc0);
            acc1 = mcugen_smlabt(wl, b, acc1);

            mcugen_strd_post8(&q, acc0, acc1);
            wl -= 1u << 16;
        } while ((int32_t)wl >= 0);
        r0 += row_step;
        r1 += row_step;
        r2 += row_step;
        q -= spare;
    } while (q != q_end);
}

/* stride_cols 2: A = (X[2x], X[2x+1]), B = (X[2x+2], X[2x+3]), D = (X[2x+4], ...):
 *   out(x)   += SMLAD(A, w01) + w2 * bottom(B)
 *   out(x+1) += SMLAD(B, w01) + w2 * bottom(D)
 * again 21 instructions per pair of outputs. */
DW_NOINLINE MCUGEN_KEEP_ORDER static void dw_3x3_stride2(const uint32_t *plane, int32_t row_words, int32_t rows,
                                                        int32_t stride_rows, int32_t out_cols,
                                                        const dw_taps3x3_t *t, uint32_t bias, uint32_t *acc)
{
    const uint32_t w0 = t->row01[0], w1 = t->row01[1], w2 = t->row01[2], wc = t->col2_01;
    const int32_t pairs = (out_cols + 1) / 2;
    const uint32_t last_and_count = (t->col2_2 & 0xFFFFu) | ((uint32_t)(pairs - 1) << 16);
    const int32_t row_step = stride_rows * row_words - 2 * pairs;
    const int32_t spare = out_cols % 2;
    const uint32_t *r0 = plane;
    const uint32_t *r1 = r0 + row_words;
    const uint32_t *r2 = r1 + row_words;
    uint32_t *q = acc;
    uint32_t *const q_end = acc + rows * out_cols;
    do {
        uint32_t wl = last_and_count;
        do {
            uint32_t a, b, d, acc0, acc1;
            mcugen_ldrd_post8(&r0, &a, &b);
            acc0 = mcugen_smlad(a, w0, bias);
            d = *r0;
            acc1 = mcugen_smlad(b, w0, bias);
            acc0 = mcugen_smlabb(wc, b, acc0);
            acc1 = mcugen_smlabb(wc, d, acc1);

            mcugen_ldrd_post8(&r1, &a, &b);
            acc0 = mcugen_smlad(a, w1, acc0);
            d = *r1;
            acc1 = mcugen_smlad(b, w1, acc1);
            acc0 = mcugen_smlatb(wc, b, acc0);
            acc1 = mcugen_smlatb(wc, d, acc1);

            mcugen_ldrd_post8(&r2, &a, &b);
            acc0 = mcugen_smlad(a, w2, acc0);
            d = *r2;
            acc1 = mcugen_smlad(b, w2, acc1);
            acc0 = mcugen_smlabb(wl, b, acc0);
            acc1 = mcugen_smlabb(wl, d, acc1);

            mcugen_strd_post8(&q, acc0, acc1);
            wl -= 1u << 16;
        } while ((int32_t)wl >= 0);
        r0 += row_step;
        r1 += row_step;
        r2 += row_step;
        q -= spare;
    } while (q != q_end);
}

/* Any filter and stride: two outputs at a time, the taps' (pair, offset) entries in
 * one flat loop, two entries per iteration: LDRD (pair, offset), two unaligned LDRs at
 * the two windows, two SMLADs; 12 instructions per four multiply-accumulates with
 * the loop. entries2: the entry count / 2. */
DW_NOINLINE MCUGEN_KEEP_ORDER static void dw_generic(const uint32_t *plane, int32_t row_words, int32_t rows,
                                                    int32_t stride_rows, int32_t stride_cols, int32_t out_cols,
                                                    const uint32_t *taps, int32_t entries2, uint32_t bias,
                                                    uint32_t *acc)
{
    const int32_t pairs = (out_cols + 1) / 2;
    const int32_t next_bytes = 2 * stride_cols; /* from output x to x + 1 */
    for (int32_t oy = 0; oy < rows; ++oy) {
        const uint8_t *x0 = (const uint8_t *)(plane + oy * stride_rows * row_words);
        uint32_t *q = acc + oy * out_cols;
        for (int32_t i = pairs; i > 0; --i) {
            const uint8_t *x1 = x0 + next_bytes;
            uint32_t acc0 = bias, acc1 = bias;
            const uint32_t *t = taps;
            for (int32_t j = entries2; j > 0; --j) {
                uint32_t w, offset;
                mcugen_ldrd_post8(&t, &w, &offset);
                acc0 = mcugen_smlad(mcugen_read_u32(x0 + offset), w, acc0);
                acc1 = mcugen_smlad(mcugen_read_u32(x1 + offset), w, acc1);
                mcugen_ldrd_post8(&t, &w, &offset);
                acc0 = mcugen_smlad(mcugen_read_u32(x0 + offset), w, acc0);
                acc1 = mcugen_smlad(mcugen_read_u32(x1 + offset), w, acc1);
            }
            mcugen_strd_post8(&q, acc0, acc1);
            x0 += 2 * next_bytes;
        }
    }
}

/* ---- Requantization: rows x cols accumulators into out -------------------------------------
 *
 * Output (r, j) goes to out[r * row_step + j * col_step]; the untransposed view passes
 * one row of all the band's outputs. */

static int32_t dw_fast_value(uint32_t acc2, const dw_channel_t *ch)
{
    const int32_t x2 = (int32_t)acc2;
    return (mcugen_smmlar(x2, ch->multiplier, ch->round_zp) + (x2 >> 31)) >> ch->right;
}

/* The fast path with act == [-128, 127]: SSAT is the whole clamp. Four outputs per
 * iteration: 2 LDRD, 4 x (SMMLAR, ADD, ASR, SSAT, STRB), 2 ADD, SUBS, BNE. */
DW_NOINLINE MCUGEN_KEEP_ORDER static void dw_requant_fast_s8(const uint32_t *acc, int32_t rows, int32_t cols,
                                                            int8_t *out, int32_t row_step, int32_t col_step,
                                                            const dw_channel_t *ch)
{
    const int32_t m = ch->multiplier, round_zp = ch->round_zp, right = ch->right;
    for (int32_t r = 0; r < rows; ++r) {
        int8_t *o = out + r * row_step;
        for (int32_t i = cols / 4; i > 0; --i) {
            uint32_t x0, x1, x2, x3;
            mcugen_ldrd_post8(&acc, &x0, &x1);
            const int32_t v0 = (mcugen_smmlar((int32_t)x0, m, round_zp) + ((int32_t)x0 >> 31)) >> right;
            const int32_t v1 = (mcugen_smmlar((int32_t)x1, m, round_zp) + ((int32_t)x1 >> 31)) >> right;
            o[0] = (int8_t)mcugen_ssat8(v0);
            o[col_step] = (int8_t)mcugen_ssat8(v1);
            o += 2 * col_step;
            mcugen_ldrd_post8(&acc, &x2, &x3);
            const int32_t v2 = (mcugen_smmlar((int32_t)x2, m, round_zp) + ((int32_t)x2 >> 31)) >> right;
            const int32_t v3 = (mcugen_smmlar((int32_t)x3, m, round_zp) + ((int32_t)x3 >> 31)) >> right;
            o[0] = (int8_t)mcugen_ssat8(v2);
            o[col_step] = (int8_t)mcugen_ssat8(v3);
            o += 2 * col_step;
        }
        for (int32_t i = cols % 4; i > 0; --i) {
            o[0] = (int8_t)mcugen_ssat8(dw_fast_value(*acc++, ch));
            o += col_step;
        }
    }
}

DW_NOINLINE static void dw_requant_exact(const uint32_t *acc, int32_t rows, int32_t cols, int8_t *out,
                                         int32_t row_step, int32_t col_step, const dw_channel_t *ch,
                                         int32_t output_offset, mcugen_act_range_t act)
{
    for (int32_t r = 0; r < rows; ++r) {
        int8_t *o = out + r * row_step;
        for (int32_t j = 0; j < cols; ++j) {
            const int32_t v = mcugen_requantize_dsp(*acc++, ch->rq) + output_offset;
            o[j * col_step] = (int8_t)mcugen_clamp(v, act.min, act.max);
        }
    }
}

/* ---- The general paths, reached through params.general ---------------------------------- */

static void dw_pack_taps_entry(const void *view, const void *layout, const int8_t *filter_c, int32_t scale,
                               uint32_t *taps)
{
    dw_pack_taps((const dw_view_t *)view, (const dw_layout_t *)layout, filter_c, scale, taps);
}

static void dw_build_one_entry(const void *layout, uint32_t *plane, const void *source)
{
    dw_build1((const dw_layout_t *)layout, plane, (const dw_source_t *)source);
}

const mcugen_depthwise_conv_dsp_general_t mcugen_depthwise_conv_dsp_general = {
    dw_pack_taps_entry,
    dw_generic,
    dw_build_one_entry,
};

/* ---- The kernel ----------------------------------------------------------------------------- */

MCUGEN_COLD_FOR_SIZE void mcugen_depthwise_conv_s8_dsp(const mcugen_depthwise_conv_dsp_params_t *p, const int8_t *input,
                                  const int8_t *filter, int8_t *output, int16_t *scratch)
{
    const int32_t C = p->input.c;
    if (p->output.n <= 0 || p->output.h <= 0 || p->output.w <= 0 || C <= 0) {
        return;
    }
    dw_view_t v;
    dw_view(p, &v);
    dw_layout_t L;
    dw_layout(p, &v, scratch, &L);
    /* 3x3 at stride_cols 1 or 2 keeps its taps in registers; those loops count pairs in 16 bits. */
    const int32_t is_3x3 = mcugen_depthwise_conv_dsp_is_3x3(p);
    const mcugen_depthwise_conv_dsp_general_t *general = p->general; /* set whenever a general path is taken */
    const int32_t flat = v.out_row_step == v.out_cols * v.out_col_step;
    const int32_t image_size = p->input.h * p->input.w * C;
    const int32_t out_image_size = p->output.h * p->output.w * p->output_stride;
    const uint32_t zp2 = dw_pack16(p->input_zero_point, p->input_zero_point);
    dw_fill_padding(&L, dw_min(C, MCUGEN_DW_DSP_GROUP), zp2);

    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + b * image_size;
        int8_t *out_image = output + b * out_image_size;
        for (int32_t c0 = 0; c0 < C; c0 += MCUGEN_DW_DSP_GROUP) {
            const int32_t n = dw_min(MCUGEN_DW_DSP_GROUP, C - c0);
            dw_channel_t ch[MCUGEN_DW_DSP_GROUP];
            dw_taps3x3_t t3[MCUGEN_DW_DSP_GROUP];
            for (int32_t k = 0; k < n; ++k) {
                dw_setup_channel(p, &v, &p->channels[c0 + k], &ch[k]);
                const int32_t scale = ch[k].fast ? 2 : 1;
                if (is_3x3) {
                    dw_taps3x3(&v, filter + c0 + k, scale, &t3[k]);
                } else {
                    general->pack_taps(&v, &L, filter + c0 + k, scale, L.taps + k * L.taps_words);
                }
            }
            for (int32_t row0 = 0; row0 < v.out_rows; row0 += L.band_rows) {
                const int32_t rows = dw_min(L.band_rows, v.out_rows - row0);
                dw_source_t src = {image + c0, v.in_row_step, v.in_col_step, v.in_rows,
                                   row0 * v.stride_rows - v.pad_rows, (rows - 1) * v.stride_rows + v.filter_rows,
                                   zp2};
                if (n == MCUGEN_DW_DSP_GROUP) {
                    dw_build4(&L, &src);
                } else {
                    for (int32_t k = 0; k < n; ++k) {
                        src.image = image + c0 + k;
                        general->build_one(&L, L.planes + k * L.plane_words, &src);
                    }
                }
                for (int32_t k = 0; k < n; ++k) {
                    const uint32_t *plane = L.planes + k * L.plane_words;
                    if (is_3x3 && v.stride_cols == 1) {
                        dw_3x3_stride1(plane, L.row_words, rows, v.stride_rows, v.out_cols, &t3[k], ch[k].bias,
                                       L.acc);
                    } else if (is_3x3) {
                        dw_3x3_stride2(plane, L.row_words, rows, v.stride_rows, v.out_cols, &t3[k], ch[k].bias,
                                       L.acc);
                    } else {
                        general->accumulate(plane, L.row_words, rows, v.stride_rows, v.stride_cols, v.out_cols,
                                            L.taps + k * L.taps_words, L.taps_words / 4, ch[k].bias, L.acc);
                    }
                    int8_t *out = out_image + row0 * v.out_row_step + c0 + k;
                    /* The untransposed view's band is one run of outputs. */
                    const int32_t out_rows = flat ? 1 : rows, out_cols = flat ? rows * v.out_cols : v.out_cols;
                    if (!ch[k].fast) {
                        dw_requant_exact(L.acc, out_rows, out_cols, out, v.out_row_step, v.out_col_step, &ch[k],
                                         p->output_offset, p->act);
                    } else {
                        dw_requant_fast_s8(L.acc, out_rows, out_cols, out, v.out_row_step, v.out_col_step, &ch[k]);
                    }
                }
            }
        }
    }
}
