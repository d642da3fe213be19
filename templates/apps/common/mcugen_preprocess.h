/* Camera frame -> model input tensor: the device's image pre-processing.
 *
 * One portable C99 module shared by every application and board. No allocation,
 * no floating point in the pixel paths (a float32 model input only reads a
 * float LUT entry), nothing from libc beyond <string.h> and <stdint.h>.
 * mcugen/preprocess.py mirrors it exactly (frame_to_tensor), and
 * tests/test_preprocess.py compiles this file on the host and checks the two agree
 * byte for byte.
 *
 * The pipeline, exactly (integers throughout, "/" is floor division of
 * non-negative values, ">> 8" of a possibly negative value means floor(x / 256)):
 *
 * 0. MCUGEN_PIXEL_TENSOR frames are the input tensor's own bytes: copied as they
 *    are when frame->bytes == tensor_bytes, refused otherwise. Nothing below applies.
 *
 * 1. Each source pixel becomes the model's channel values, 8-bit each.
 *    Colour (C == 3 without params->grayscale), R, G, B first:
 *      GRAY8   R = G = B = the byte
 *      RGB565  bytes b0 b1 big-endian, r5 = b0 >> 3, g6 = ((b0 & 7) << 3) | (b1 >> 5),
 *              b5 = b1 & 31; expanded by bit replication:
 *              R = (r5 << 3) | (r5 >> 2), G = (g6 << 2) | (g6 >> 4), B = (b5 << 3) | (b5 >> 2)
 *      RGB888  the three bytes
 *      YUV422  YUYV: bytes Y0 U Y1 V carry pixels 2k (Y0) and 2k+1 (Y1), which share U, V.
 *              Full-range BT.601 (JFIF) in 8.8 fixed point, d = U - 128, e = V - 128:
 *              R = clamp(Y + ((359 * e + 128) >> 8))
 *              G = clamp(Y + ((-88 * d - 183 * e + 128) >> 8))
 *              B = clamp(Y + ((454 * d + 128) >> 8))
 *              clamp to 0..255; 359, 88, 183, 454 = round(256 * 1.402, 0.344136, 0.714136, 1.772).
 *      then placed in channel_order: MCUGEN_PREPROCESS_ORDER_RGB (channels R, G, B) or
 *      MCUGEN_PREPROCESS_ORDER_BGR (B, G, R: what OpenCV- and Caffe-trained models take).
 *    Luma (C == 1 always; C == 3 with params->grayscale, the same value in all three):
 *      GRAY8   the byte
 *      RGB565, RGB888  gray = (77 * R + 150 * G + 29 * B + 128) >> 8 of R, G, B as above
 *              (BT.601's 0.299, 0.587, 0.114 in 8.8 fixed point)
 *      YUV422  Y itself
 *
 * 2. Resize to W x H by box averaging a cw x ch window of the frame from (x0, y0).
 *    MCUGEN_PREPROCESS_RESIZE_CROP: the centre at the model's aspect ratio W:H.
 *    Frame w x h. If w * H > W * h (frame wider): ch = h, cw = max(1, h * W / H);
 *    else cw = w, ch = max(1, w * H / W). x0 = (w - cw) / 2, y0 = (h - ch) / 2.
 *    MCUGEN_PREPROCESS_RESIZE_STRETCH: the whole frame, cw = w, ch = h, x0 = y0 = 0
 *    (the aspect ratio is not kept).
 *    Output pixel (ox, oy) averages window columns [x0 + a(ox), x0 + b(ox)) with
 *      a(ox) = ox * cw / W,  b(ox) = max((ox + 1) * cw / W, a(ox) + 1)
 *    and rows likewise with ch and H; n = its pixel count, value = (sum + n / 2) / n.
 *    Upscaling therefore repeats pixels; equal sizes copy them.
 *
 * 3. Quantize through the 256-entry LUT made at generate time in Python
 *    (mcugen/preprocess.py, which also folds in the pixel range and any mean/std
 *    normalisation, x = (pixel_in_range - mean) / std): tensor element c of a pixel =
 *    lut_q[t + value] (int8 stored as its two's-complement byte, uint8 as is) or
 *    lut_f[t + value] (float32), t = 0 with one table for every channel, or
 *    t = c * 256 with lut_per_channel (C tables back to back).
 *
 * Output layout NHWC, [1, H, W, C]: element (oy * W + ox) * C + c.
 *
 * Limits: the resize keeps one row of sums, W * C uint32_t in a static buffer of
 * MCUGEN_PREPROCESS_MAX_ROW entries (default 3 * 320: a 320-wide RGB input;
 * 3840 bytes of RAM). Define it larger at compile time for wider models;
 * W * C past it is refused (MCUGEN_PREPROCESS_ERR_ROW_TOO_WIDE). A box's rounded
 * sum must fit 32 bits: frames whose box bound (cw / W + 1) * (ch / H + 1) exceeds
 * MCUGEN_PREPROCESS_MAX_BOX_PIXELS (2^24 - 1, far beyond any camera) are refused
 * (MCUGEN_PREPROCESS_ERR_BOX_TOO_LARGE).
 * Not reentrant: the row buffer is static.
 */
#ifndef MCUGEN_PREPROCESS_H
#define MCUGEN_PREPROCESS_H

#include <stdint.h>

#include "mcugen_board.h" /* mcugen_camera_frame_t, MCUGEN_PIXEL_* */

#ifndef MCUGEN_PREPROCESS_MAX_ROW
#define MCUGEN_PREPROCESS_MAX_ROW (3u * 320u)
#endif

/* The generated LUT arrays are 16-byte aligned (DMA- and cache-line-friendly). */
#if defined(__GNUC__) || defined(__clang__)
#define MCUGEN_PREPROCESS_ALIGNED __attribute__((aligned(16)))
#else
#define MCUGEN_PREPROCESS_ALIGNED
#endif

/* Element type of the model input, mcugen_preprocess_params_t.dtype. */
#define MCUGEN_PREPROCESS_DTYPE_INT8 1u    /* lut_q, bytes are int8 two's complement */
#define MCUGEN_PREPROCESS_DTYPE_UINT8 2u   /* lut_q */
#define MCUGEN_PREPROCESS_DTYPE_FLOAT32 3u /* lut_f */

#define MCUGEN_PREPROCESS_LUT_SIZE 256u

/* Step 2's window, mcugen_preprocess_params_t.resize. 0 is the default. */
#define MCUGEN_PREPROCESS_RESIZE_CROP 0u    /* centre crop to W:H, then resize */
#define MCUGEN_PREPROCESS_RESIZE_STRETCH 1u /* the whole frame to W x H */

/* Step 1's colour order, mcugen_preprocess_params_t.channel_order (C == 3). 0 is the default. */
#define MCUGEN_PREPROCESS_ORDER_RGB 0u
#define MCUGEN_PREPROCESS_ORDER_BGR 1u

/* 255 * n + n / 2 < 2^32 for every box of n pixels up to this. */
#define MCUGEN_PREPROCESS_MAX_BOX_PIXELS 16777215u

/* What the generator knows about the model input; emitted by
 * mcugen.preprocess.render_c_params. Every choice's zero is the default, so a
 * struct initialised without one behaves as before the choice existed. */
typedef struct {
    uint16_t width;          /* W of the [1, H, W, C] input */
    uint16_t height;         /* H */
    uint8_t channels;        /* C: 1 (gray) or 3 (colour) */
    uint8_t dtype;           /* MCUGEN_PREPROCESS_DTYPE_* */
    uint8_t resize;          /* MCUGEN_PREPROCESS_RESIZE_* */
    uint8_t channel_order;   /* MCUGEN_PREPROCESS_ORDER_*; must be RGB when C == 1 */
    uint8_t grayscale;       /* 1: C == 3 gets the luma in every channel (C == 1 always does) */
    uint8_t lut_per_channel; /* 0: one table for every channel; 1: C tables of 256, channel c's at c * 256 */
    const uint8_t *lut_q;    /* the table(s), int8/uint8 inputs; NULL for float32 */
    const float *lut_f;      /* the table(s), float32 inputs; NULL otherwise */
} mcugen_preprocess_params_t;

#define MCUGEN_PREPROCESS_OK 0
#define MCUGEN_PREPROCESS_ERR_FORMAT (-1)         /* frame->format is no MCUGEN_PIXEL_* code */
#define MCUGEN_PREPROCESS_ERR_ODD_WIDTH (-2)      /* YUV422 frame of odd width */
#define MCUGEN_PREPROCESS_ERR_EMPTY_FRAME (-3)    /* width or height 0, or no data */
#define MCUGEN_PREPROCESS_ERR_FRAME_BYTES (-4)    /* frame->bytes shorter than width * height pixels */
#define MCUGEN_PREPROCESS_ERR_TENSOR_BYTES (-5)   /* tensor_bytes is not the input's size (or a TENSOR frame's) */
#define MCUGEN_PREPROCESS_ERR_ROW_TOO_WIDE (-6)   /* W * C > MCUGEN_PREPROCESS_MAX_ROW */
#define MCUGEN_PREPROCESS_ERR_BOX_TOO_LARGE (-7)  /* a box sum could overflow 32 bits */
#define MCUGEN_PREPROCESS_ERR_PARAMS (-8)         /* bad channels, dtype, size, choice or a missing LUT */

/* Writes the model input for this frame into tensor (tensor_bytes long:
 * W * H * C bytes, or 4 * W * H * C for float32; float32 needs no alignment).
 * 0 on success, else a negative MCUGEN_PREPROCESS_ERR_* and tensor untouched. */
int mcugen_preprocess(const mcugen_camera_frame_t *frame, const mcugen_preprocess_params_t *params, void *tensor,
                      uint32_t tensor_bytes);

#endif /* MCUGEN_PREPROCESS_H */
