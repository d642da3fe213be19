/* Camera frame -> model input tensor. The pipeline and its limits are defined in
 * mcugen_preprocess.h; mcugen/preprocess.py is the exact Python mirror. */
#include "mcugen_preprocess.h"

#include <string.h>

/* The box sums of one output row, channel-interleaved (ox * C + c). Static so the
 * caller's stack stays small; it is why mcugen_preprocess is not reentrant. */
static uint32_t row_sums[MCUGEN_PREPROCESS_MAX_ROW];

static uint8_t clamp_u8(int32_t v)
{
    return v < 0 ? 0u : v > 255 ? 255u : (uint8_t)v;
}

/* floor(x / 256) for x >= -65536, without right-shifting a negative value
 * (implementation-defined in C); the YUV terms stay within -58112..57786. */
static int32_t floor_div256(int32_t x)
{
    return (int32_t)((uint32_t)(x + 65536) >> 8) - 256;
}

static uint8_t luma(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)((77u * r + 150u * g + 29u * b + 128u) >> 8);
}

static uint32_t bytes_per_pixel(uint8_t format)
{
    switch (format) {
    case MCUGEN_PIXEL_GRAY8: return 1u;
    case MCUGEN_PIXEL_RGB565: return 2u;
    case MCUGEN_PIXEL_RGB888: return 3u;
    case MCUGEN_PIXEL_YUV422: return 2u;
    default: return 0u;
    }
}

/* Step 1: the values of pixel x of one frame row, R, G, B in out[0..2]; only the luma,
 * in out[0], when gray. */
static void read_pixel(const uint8_t *row, uint32_t x, uint8_t format, int gray, uint8_t out[3])
{
    uint8_t r, g, b;
    switch (format) {
    case MCUGEN_PIXEL_GRAY8:
        out[0] = out[1] = out[2] = row[x];
        return;
    case MCUGEN_PIXEL_RGB565: {
        const uint8_t *p = row + 2u * x;
        uint8_t r5 = (uint8_t)(p[0] >> 3);
        uint8_t g6 = (uint8_t)(((p[0] & 0x07u) << 3) | (p[1] >> 5));
        uint8_t b5 = (uint8_t)(p[1] & 0x1Fu);
        r = (uint8_t)((r5 << 3) | (r5 >> 2));
        g = (uint8_t)((g6 << 2) | (g6 >> 4));
        b = (uint8_t)((b5 << 3) | (b5 >> 2));
        break;
    }
    case MCUGEN_PIXEL_RGB888: {
        const uint8_t *p = row + 3u * x;
        r = p[0];
        g = p[1];
        b = p[2];
        break;
    }
    default: { /* MCUGEN_PIXEL_YUV422, checked by the caller: Y0 U Y1 V per pixel pair */
        const uint8_t *pair = row + 4u * (x >> 1);
        int32_t y = pair[(x & 1u) ? 2 : 0];
        int32_t d = (int32_t)pair[1] - 128;
        int32_t e = (int32_t)pair[3] - 128;
        if (gray) {
            out[0] = (uint8_t)y;
            return;
        }
        out[0] = clamp_u8(y + floor_div256(359 * e + 128));
        out[1] = clamp_u8(y + floor_div256(-88 * d - 183 * e + 128));
        out[2] = clamp_u8(y + floor_div256(454 * d + 128));
        return;
    }
    }
    if (gray) {
        out[0] = luma(r, g, b);
    } else {
        out[0] = r;
        out[1] = g;
        out[2] = b;
    }
}

/* Step 2's box edges along one axis, output index by output index, without a
 * division per step: [first, end) = [o * crop / out, max((o + 1) * crop / out, first + 1)). */
typedef struct {
    uint32_t edge;  /* o * crop / out for the current o */
    uint32_t rest;  /* (o * crop) mod out */
    uint32_t whole; /* crop / out */
    uint32_t part;  /* crop mod out */
    uint32_t out;
} box_edges_t;

static void box_edges_start(box_edges_t *edges, uint32_t crop, uint32_t out)
{
    edges->edge = 0u;
    edges->rest = 0u;
    edges->whole = crop / out;
    edges->part = crop % out;
    edges->out = out;
}

static void box_edges_next(box_edges_t *edges, uint32_t *first, uint32_t *end)
{
    uint32_t next = edges->edge + edges->whole;
    edges->rest += edges->part;
    if (edges->rest >= edges->out) {
        edges->rest -= edges->out;
        next++;
    }
    *first = edges->edge;
    *end = next > edges->edge ? next : edges->edge + 1u;
    edges->edge = next;
}

static int check_params(const mcugen_preprocess_params_t *params)
{
    if (params->width == 0u || params->height == 0u) return MCUGEN_PREPROCESS_ERR_PARAMS;
    if (params->channels != 1u && params->channels != 3u) return MCUGEN_PREPROCESS_ERR_PARAMS;
    if (params->resize > MCUGEN_PREPROCESS_RESIZE_STRETCH) return MCUGEN_PREPROCESS_ERR_PARAMS;
    if (params->channel_order > MCUGEN_PREPROCESS_ORDER_BGR) return MCUGEN_PREPROCESS_ERR_PARAMS;
    /* A gray input has no colours to order: BGR there is a generator bug, not a choice. */
    if (params->channels == 1u && params->channel_order != MCUGEN_PREPROCESS_ORDER_RGB) {
        return MCUGEN_PREPROCESS_ERR_PARAMS;
    }
    if (params->grayscale > 1u || params->lut_per_channel > 1u) return MCUGEN_PREPROCESS_ERR_PARAMS;
    switch (params->dtype) {
    case MCUGEN_PREPROCESS_DTYPE_INT8:
    case MCUGEN_PREPROCESS_DTYPE_UINT8:
        return params->lut_q != NULL ? MCUGEN_PREPROCESS_OK : MCUGEN_PREPROCESS_ERR_PARAMS;
    case MCUGEN_PREPROCESS_DTYPE_FLOAT32:
        return params->lut_f != NULL ? MCUGEN_PREPROCESS_OK : MCUGEN_PREPROCESS_ERR_PARAMS;
    default:
        return MCUGEN_PREPROCESS_ERR_PARAMS;
    }
}

int mcugen_preprocess(const mcugen_camera_frame_t *frame, const mcugen_preprocess_params_t *params, void *tensor,
                      uint32_t tensor_bytes)
{
    const uint32_t out_w = params->width, out_h = params->height, channels = params->channels;
    const uint32_t frame_w = frame->width, frame_h = frame->height;
    const int gray = channels == 1u || params->grayscale != 0u;
    const int is_float = params->dtype == MCUGEN_PREPROCESS_DTYPE_FLOAT32;
    /* Entries between channel c's table and channel c + 1's: 0 when they share one. */
    const uint32_t lut_stride = params->lut_per_channel ? MCUGEN_PREPROCESS_LUT_SIZE : 0u;
    uint32_t pixel_bytes, row_bytes, crop_w, crop_h, x0, y0, oy, ox, c, sx, sy;
    uint32_t tensor_row_bytes;
    /* Tensor channel c sums read_pixel's value[source[c]]: the colour order, or the luma
     * (value[0]) in every channel. */
    uint8_t source[3] = {0u, 1u, 2u};
    uint8_t *out = (uint8_t *)tensor;
    box_edges_t rows;
    int status = check_params(params);

    if (status != MCUGEN_PREPROCESS_OK) return status;
    if (gray) {
        source[1] = source[2] = 0u;
    } else if (params->channel_order == MCUGEN_PREPROCESS_ORDER_BGR) {
        source[0] = 2u;
        source[2] = 0u;
    }
    /* Compared by division: out_h * tensor_row_bytes can pass 32 bits. */
    tensor_row_bytes = out_w * channels * (is_float ? (uint32_t)sizeof(float) : 1u);
    if (tensor_bytes % tensor_row_bytes != 0u || tensor_bytes / tensor_row_bytes != out_h) {
        return MCUGEN_PREPROCESS_ERR_TENSOR_BYTES;
    }

    if (frame->format == MCUGEN_PIXEL_TENSOR) {
        if (frame->bytes != tensor_bytes) return MCUGEN_PREPROCESS_ERR_TENSOR_BYTES;
        if (frame->data == NULL) return MCUGEN_PREPROCESS_ERR_EMPTY_FRAME;
        memcpy(tensor, frame->data, tensor_bytes);
        return MCUGEN_PREPROCESS_OK;
    }
    pixel_bytes = bytes_per_pixel(frame->format);
    if (pixel_bytes == 0u) return MCUGEN_PREPROCESS_ERR_FORMAT;
    if (frame_w == 0u || frame_h == 0u || frame->data == NULL) return MCUGEN_PREPROCESS_ERR_EMPTY_FRAME;
    if (frame->format == MCUGEN_PIXEL_YUV422 && (frame_w & 1u) != 0u) return MCUGEN_PREPROCESS_ERR_ODD_WIDTH;
    row_bytes = frame_w * pixel_bytes;
    if (frame->bytes / row_bytes < frame_h) return MCUGEN_PREPROCESS_ERR_FRAME_BYTES;
    if (out_w * channels > MCUGEN_PREPROCESS_MAX_ROW) return MCUGEN_PREPROCESS_ERR_ROW_TOO_WIDE;

    /* The window to average: the whole frame, or its centre at W:H; all products stay
     * below 2^32 (16-bit factors). */
    if (params->resize == MCUGEN_PREPROCESS_RESIZE_STRETCH) {
        crop_w = frame_w;
        crop_h = frame_h;
    } else if (frame_w * out_h > out_w * frame_h) {
        crop_h = frame_h;
        crop_w = frame_h * out_w / out_h;
        if (crop_w == 0u) crop_w = 1u;
    } else {
        crop_w = frame_w;
        crop_h = frame_w * out_h / out_w;
        if (crop_h == 0u) crop_h = 1u;
    }
    x0 = (frame_w - crop_w) / 2u;
    y0 = (frame_h - crop_h) / 2u;
    if (crop_w / out_w + 1u > MCUGEN_PREPROCESS_MAX_BOX_PIXELS / (crop_h / out_h + 1u)) {
        return MCUGEN_PREPROCESS_ERR_BOX_TOO_LARGE;
    }

    box_edges_start(&rows, crop_h, out_h);
    for (oy = 0u; oy < out_h; oy++) {
        uint32_t row_first, row_end;
        box_edges_t cols;
        box_edges_next(&rows, &row_first, &row_end);
        memset(row_sums, 0, out_w * channels * sizeof row_sums[0]);

        /* Sum this output row's boxes source row by source row (sequential reads). */
        for (sy = y0 + row_first; sy < y0 + row_end; sy++) {
            const uint8_t *src = frame->data + sy * row_bytes;
            box_edges_start(&cols, crop_w, out_w);
            for (ox = 0u; ox < out_w; ox++) {
                uint32_t col_first, col_end;
                uint32_t *sums = &row_sums[ox * channels];
                box_edges_next(&cols, &col_first, &col_end);
                for (sx = x0 + col_first; sx < x0 + col_end; sx++) {
                    uint8_t value[3];
                    read_pixel(src, sx, frame->format, gray, value);
                    for (c = 0u; c < channels; c++) sums[c] += value[source[c]];
                }
            }
        }

        /* Round each box mean and look it up: steps 2 and 3. */
        box_edges_start(&cols, crop_w, out_w);
        for (ox = 0u; ox < out_w; ox++) {
            uint32_t col_first, col_end, count;
            box_edges_next(&cols, &col_first, &col_end);
            count = (col_end - col_first) * (row_end - row_first);
            for (c = 0u; c < channels; c++) {
                uint32_t element = (oy * out_w + ox) * channels + c;
                uint32_t entry = c * lut_stride + (uint8_t)((row_sums[ox * channels + c] + count / 2u) / count);
                if (is_float) {
                    memcpy(out + sizeof(float) * element, &params->lut_f[entry], sizeof(float));
                } else {
                    out[element] = params->lut_q[entry];
                }
            }
        }
    }
    return MCUGEN_PREPROCESS_OK;
}
