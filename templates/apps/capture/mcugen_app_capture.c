/* The capture application: the camera's frames, on request, to the host.
 *
 * CAPTURE (no payload) takes a frame and answers u32 frame number, u8 status (0 ok,
 * else the camera's error as a negative i8), u8 format (MCUGEN_PIXEL_*), u16 width,
 * u16 height, u32 bytes, u32 CRC-32 of the frame. GET_FRAME (u32 offset, u16 max
 * bytes, 1..1020) answers u32 offset and exactly that many bytes of the frame the
 * last CAPTURE took, which stays put until the next CAPTURE (docs/protocol.md).
 *
 * A board whose camera is host-fed has no sensor to capture from: there the frames
 * are a deterministic test pattern (colour bars and a square that moves one step per
 * frame), as Zephyr's video test-pattern source does, so the whole path to PNG files
 * runs in the emulator.
 */
#include <string.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_board.h"

#define MCUGEN_GET_FRAME_MAX (MCUGEN_FRAME_MAX_PAYLOAD - 4u)

static mcugen_camera_frame_t current;
static uint32_t frames_taken;
static int have_frame;

#if MCUGEN_BOARD_CAMERA_HOST_FED
static uint8_t pattern[MCUGEN_CAMERA_WIDTH * MCUGEN_CAMERA_HEIGHT * 2u]
    __attribute__((section(".mcugen_frame"), aligned(32)));

/* RGB565 colour bars (white, yellow, cyan, green, magenta, red, blue, black) with a
 * dark 16 x 16 square that moves with the frame number. */
static int take_frame(mcugen_camera_frame_t *frame)
{
    static const uint16_t bars[8] = {0xFFFFu, 0xFFE0u, 0x07FFu, 0x07E0u, 0xF81Fu, 0xF800u, 0x001Fu, 0x0000u};
    const unsigned w = MCUGEN_CAMERA_WIDTH, h = MCUGEN_CAMERA_HEIGHT;
    unsigned sx = (frames_taken * 4u) % (w - 16u), sy = (frames_taken * 3u) % (h - 16u);
    for (unsigned y = 0; y < h; ++y) {
        for (unsigned x = 0; x < w; ++x) {
            uint16_t c = bars[x * 8u / w];
            if (x >= sx && x < sx + 16u && y >= sy && y < sy + 16u) {
                c = 0x2104u; /* dark grey */
            }
            pattern[2u * (y * w + x)] = (uint8_t)(c >> 8); /* big-endian, as sensors send */
            pattern[2u * (y * w + x) + 1u] = (uint8_t)c;
        }
    }
    frame->data = pattern;
    frame->bytes = (uint32_t)sizeof pattern;
    frame->width = (uint16_t)w;
    frame->height = (uint16_t)h;
    frame->format = MCUGEN_PIXEL_RGB565;
    return 0;
}
#else
static int take_frame(mcugen_camera_frame_t *frame)
{
    return mcugen_board_camera_capture(frame);
}
#endif

static void put(uint8_t *buf, size_t *at, uint32_t value, unsigned bytes)
{
    mcugen_le_put(buf + *at, value, bytes);
    *at += bytes;
}

static void handle_capture(const mcugen_frame_t *f)
{
    uint8_t reply[20];
    size_t at = 0;
    if (f->length != 0) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    int err = take_frame(&current);
    have_frame = err == 0;
    ++frames_taken;
    put(reply, &at, frames_taken, 4);
    put(reply, &at, (uint32_t)(uint8_t)(int8_t)err, 1);
    put(reply, &at, have_frame ? current.format : 0u, 1);
    put(reply, &at, have_frame ? current.width : 0u, 2);
    put(reply, &at, have_frame ? current.height : 0u, 2);
    put(reply, &at, have_frame ? current.bytes : 0u, 4);
    put(reply, &at, have_frame ? mcugen_crc32(0, current.data, current.bytes) : 0u, 4);
    mcugen_agent_reply(MCUGEN_CMD_CAPTURE, f->seq, reply, at);
}

static void handle_get_frame(const mcugen_frame_t *f)
{
    static uint8_t reply[MCUGEN_FRAME_MAX_PAYLOAD];
    if (f->length != 6) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    uint32_t offset = mcugen_le_get(f->payload, 4);
    uint32_t n = mcugen_le_get(f->payload + 4, 2);
    if (n > MCUGEN_GET_FRAME_MAX) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_TOO_LARGE, "over 1020 bytes");
        return;
    }
    if (!have_frame) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_NOT_READY, "no frame captured");
        return;
    }
    if (n == 0 || offset > current.bytes || n > current.bytes - offset) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "past the frame");
        return;
    }
    size_t at = 0;
    put(reply, &at, offset, 4);
    memcpy(reply + at, current.data + offset, n);
    mcugen_agent_reply(MCUGEN_CMD_GET_FRAME, f->seq, reply, at + n);
}

static int handle_request(const mcugen_frame_t *f)
{
    if (f->type == MCUGEN_CMD_CAPTURE) {
        handle_capture(f);
        return 1;
    }
    if (f->type == MCUGEN_CMD_GET_FRAME) {
        handle_get_frame(f);
        return 1;
    }
    return 0;
}

void mcugen_app_run(void)
{
    mcugen_board_init();
    mcugen_agent_set_handler(handle_request);
    mcugen_agent_start();
#if !MCUGEN_BOARD_CAMERA_HOST_FED
    /* A sensor that does not start is reported by every CAPTURE (status); HELLO still works. */
    (void)mcugen_board_camera_start();
#endif
    for (;;) {
        mcugen_agent_feed(mcugen_board_read_byte());
    }
}
