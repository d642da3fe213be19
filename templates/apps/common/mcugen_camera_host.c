/* See mcugen_camera_host.h. The board API's camera functions, on a host-fed board.
 *
 * FRAME request: u16 frame id (1..65535, a new one per frame), u8 format (MCUGEN_PIXEL_*),
 * u16 width, u16 height, u32 byte offset, then 1..1013 bytes of the frame. The host sends
 * a frame's chunks in order; a chunk again (a retry) is harmless, and a chunk of a frame
 * already delivered is acknowledged without delivering it twice. Reply: u16 frame id,
 * u32 offset, u16 bytes taken, u8 1 when the frame is whole.
 */
#include "mcugen_camera_host.h"

#include <string.h>

#include "mcugen_agent.h"

#if MCUGEN_BOARD_CAMERA_HOST_FED

#define MCUGEN_FRAME_CHUNK_HEADER 11u

static uint8_t mcugen_host_frame[MCUGEN_CAMERA_FRAME_BYTES] __attribute__((section(".mcugen_frame"), aligned(32)));

static struct {
    uint16_t id;       /* the frame being received (0: none) */
    uint8_t format;
    uint16_t width;
    uint16_t height;
    uint32_t bytes;    /* its size */
    uint32_t filled;   /* bytes received, from offset 0 */
    uint8_t ready;     /* whole, not yet returned by capture */
    uint16_t delivered; /* the last frame capture returned (0: none) */
} rx;

static uint32_t bytes_per_pixel(uint8_t format)
{
    switch (format) {
    case MCUGEN_PIXEL_GRAY8:
    case MCUGEN_PIXEL_TENSOR:
        return 1u;
    case MCUGEN_PIXEL_RGB565:
    case MCUGEN_PIXEL_YUV422:
        return 2u;
    case MCUGEN_PIXEL_RGB888:
        return 3u;
    default:
        return 0u;
    }
}

static void ack(uint8_t seq, uint16_t id, uint32_t offset, uint32_t taken, uint8_t whole)
{
    uint8_t reply[9];
    mcugen_le_put(reply, id, 2);
    mcugen_le_put(reply + 2, offset, 4);
    mcugen_le_put(reply + 6, taken, 2);
    reply[8] = whole;
    mcugen_agent_reply(MCUGEN_CMD_FRAME, seq, reply, sizeof reply);
}

int mcugen_camera_host_handle(const mcugen_frame_t *f)
{
    if (f->type != MCUGEN_CMD_FRAME) {
        return 0;
    }
    if (f->length <= MCUGEN_FRAME_CHUNK_HEADER) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return 1;
    }
    const uint8_t *p = f->payload;
    uint16_t id = (uint16_t)mcugen_le_get(p, 2);
    uint8_t format = p[2];
    uint16_t width = (uint16_t)mcugen_le_get(p + 3, 2);
    uint16_t height = (uint16_t)mcugen_le_get(p + 5, 2);
    uint32_t offset = mcugen_le_get(p + 7, 4);
    uint32_t n = (uint32_t)f->length - MCUGEN_FRAME_CHUNK_HEADER;
    uint32_t bpp = bytes_per_pixel(format);
    uint32_t bytes = (uint32_t)width * height * bpp;
    if (id == 0 || bpp == 0 || width == 0 || height == 0) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "bad frame id, format or size");
        return 1;
    }
    if (bytes > sizeof mcugen_host_frame) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_TOO_LARGE, "frame larger than the camera buffer");
        return 1;
    }
    if (offset > bytes || n > bytes - offset) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "past the frame");
        return 1;
    }
    if (id == rx.delivered || (id == rx.id && rx.ready)) {
        ack(f->seq, id, offset, n, 1); /* a retry of a frame already whole */
        return 1;
    }
    if (id != rx.id || format != rx.format || width != rx.width || height != rx.height) {
        if (offset != 0) {
            mcugen_agent_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "a new frame starts at offset 0");
            return 1;
        }
        rx.id = id;
        rx.format = format;
        rx.width = width;
        rx.height = height;
        rx.bytes = bytes;
        rx.filled = 0;
    }
    if (offset > rx.filled) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "chunks must come in order");
        return 1;
    }
    memcpy(mcugen_host_frame + offset, p + MCUGEN_FRAME_CHUNK_HEADER, n);
    if (offset + n > rx.filled) {
        rx.filled = offset + n;
    }
    rx.ready = rx.filled == rx.bytes;
    ack(f->seq, id, offset, n, rx.ready);
    return 1;
}

uint16_t mcugen_camera_host_frame_id(void)
{
    return rx.delivered;
}

int mcugen_board_camera_start(void)
{
    memset(&rx, 0, sizeof rx);
    return 0;
}

int mcugen_board_camera_capture(mcugen_camera_frame_t *frame)
{
    while (!rx.ready) {
        mcugen_agent_feed(mcugen_board_read_byte());
    }
    rx.ready = 0;
    rx.delivered = rx.id;
    rx.id = 0;
    frame->data = mcugen_host_frame;
    frame->bytes = rx.bytes;
    frame->width = rx.width;
    frame->height = rx.height;
    frame->format = rx.format;
    return 0;
}

#endif /* MCUGEN_BOARD_CAMERA_HOST_FED */
