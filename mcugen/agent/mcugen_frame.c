/* mcugen benchmark agent: frame encoding, CRC-32 and the resynchronising receiver.
 * See mcugen_frame.h and docs/protocol.md. */
#include "mcugen_frame.h"

#include <string.h>

static const uint32_t mcugen_crc32_nibbles[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t mcugen_crc32(uint32_t crc, const uint8_t *data, size_t length)
{
    crc = ~crc;
    for (size_t i = 0; i < length; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ mcugen_crc32_nibbles[crc & 15u];
        crc = (crc >> 4) ^ mcugen_crc32_nibbles[crc & 15u];
    }
    return ~crc;
}

void mcugen_frame_rx_init(mcugen_frame_rx_t *rx)
{
    rx->len = 0;
    rx->drop = 0;
}

/* Discards the first n held bytes. */
static void rx_shift(mcugen_frame_rx_t *rx, size_t n)
{
    if (n >= rx->len) {
        rx->len = 0;
        return;
    }
    memmove(rx->buf, rx->buf + n, rx->len - n);
    rx->len = (uint16_t)(rx->len - n);
}

static mcugen_rx_event_t rx_step(mcugen_frame_rx_t *rx, mcugen_frame_t *frame)
{
    if (rx->drop) {
        rx_shift(rx, rx->drop);
        rx->drop = 0;
    }
    for (;;) {
        /* Hunt for A5: everything before it is garbage. */
        const uint8_t *sync = rx->len ? (const uint8_t *)memchr(rx->buf, MCUGEN_FRAME_SYNC0, rx->len) : NULL;
        if (sync == NULL) {
            rx->len = 0;
            return MCUGEN_RX_NONE;
        }
        rx_shift(rx, (size_t)(sync - rx->buf));
        if (rx->len < 2) {
            return MCUGEN_RX_NONE;
        }
        if (rx->buf[1] != MCUGEN_FRAME_SYNC1) {
            rx_shift(rx, 1);
            continue;
        }
        if (rx->len < MCUGEN_FRAME_HEADER_BYTES) {
            return MCUGEN_RX_NONE;
        }
        size_t length = (size_t)rx->buf[4] | ((size_t)rx->buf[5] << 8);
        frame->type = rx->buf[2];
        frame->seq = rx->buf[3];
        frame->length = (uint16_t)length;
        frame->payload = rx->buf + MCUGEN_FRAME_HEADER_BYTES;
        if (length > MCUGEN_FRAME_MAX_PAYLOAD) {
            /* Not a frame: a damaged header, reported at once (the sender need not wait
             * for a reply that is not coming); hunt again from the byte after A5. */
            rx->drop = 1;
            return MCUGEN_RX_BAD_CRC;
        }
        size_t total = length + MCUGEN_FRAME_OVERHEAD;
        if (rx->len < total) {
            return MCUGEN_RX_NONE;
        }
        const uint8_t *crc_bytes = rx->buf + MCUGEN_FRAME_HEADER_BYTES + length;
        uint32_t received = (uint32_t)crc_bytes[0] | ((uint32_t)crc_bytes[1] << 8) |
                            ((uint32_t)crc_bytes[2] << 16) | ((uint32_t)crc_bytes[3] << 24);
        uint32_t computed = mcugen_crc32(0, rx->buf + 2, MCUGEN_FRAME_HEADER_BYTES - 2 + length);
        if (received == computed) {
            rx->drop = (uint16_t)total;
            return MCUGEN_RX_FRAME;
        }
        rx->drop = 1; /* the next step hunts again from the byte after this A5 */
        return MCUGEN_RX_BAD_CRC;
    }
}

mcugen_rx_event_t mcugen_frame_rx_push(mcugen_frame_rx_t *rx, uint8_t byte, mcugen_frame_t *frame)
{
    if (rx->drop) {
        rx_shift(rx, rx->drop);
        rx->drop = 0;
    }
    if (rx->len >= MCUGEN_FRAME_MAX_BYTES) {
        /* Unreachable when events are polled to NONE (a held prefix is always
         * shorter than the frame its header announces), kept so that no call
         * sequence can write past the buffer. */
        rx_shift(rx, 1);
    }
    rx->buf[rx->len++] = byte;
    return rx_step(rx, frame);
}

mcugen_rx_event_t mcugen_frame_rx_poll(mcugen_frame_rx_t *rx, mcugen_frame_t *frame)
{
    return rx_step(rx, frame);
}

int mcugen_frame_send(mcugen_frame_write_fn write, uint8_t type, uint8_t seq, const uint8_t *payload,
                      size_t length)
{
    if (length > MCUGEN_FRAME_MAX_PAYLOAD || (length > 0 && payload == NULL)) {
        return -1;
    }
    uint8_t header[MCUGEN_FRAME_HEADER_BYTES] = {
        MCUGEN_FRAME_SYNC0, MCUGEN_FRAME_SYNC1, type, seq, (uint8_t)(length & 0xFFu), (uint8_t)(length >> 8),
    };
    uint32_t crc = mcugen_crc32(0, header + 2, MCUGEN_FRAME_HEADER_BYTES - 2);
    if (length > 0) {
        crc = mcugen_crc32(crc, payload, length);
    }
    uint8_t trailer[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    write(header, sizeof header);
    if (length > 0) {
        write(payload, length);
    }
    write(trailer, sizeof trailer);
    return 0;
}

uint32_t mcugen_le_get(const uint8_t *p, unsigned bytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes && i < 4u; ++i) {
        v |= (uint32_t)p[i] << (8u * i);
    }
    return v;
}

void mcugen_le_put(uint8_t *p, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes && i < 8u; ++i) {
        p[i] = (uint8_t)(value >> (8u * i));
    }
}
