/* mcugen benchmark agent: the frame layer of the wire protocol (docs/protocol.md; unchanged since version 1).
 *
 *   A5 5A | type | seq | length (u16 LE, <= 1024) | payload | CRC-32 (u32 LE)
 *
 * The CRC is zlib's crc32 over type, seq, length and payload. The receiver is
 * a byte-at-a-time state machine over a buffer of exactly one maximal frame:
 * no input can overflow it, and after a bad frame (or a header with an
 * impossible length) it resynchronises on the byte after that frame's A5, so
 * garbage costs at most the frame it hits.
 *
 * Portable C99, no allocation, no library calls beyond memmove/memchr.
 */
#ifndef MCUGEN_FRAME_H
#define MCUGEN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define MCUGEN_FRAME_SYNC0 0xA5u
#define MCUGEN_FRAME_SYNC1 0x5Au
#define MCUGEN_FRAME_MAX_PAYLOAD 1024u
#define MCUGEN_FRAME_HEADER_BYTES 6u /* sync, sync, type, seq, length */
#define MCUGEN_FRAME_OVERHEAD 10u    /* header + CRC */
#define MCUGEN_FRAME_MAX_BYTES (MCUGEN_FRAME_MAX_PAYLOAD + MCUGEN_FRAME_OVERHEAD)

/* zlib-compatible CRC-32 (IEEE 802.3, reflected): start with crc = 0, chain
 * by passing the previous result. Nibble table: 64 bytes of flash. */
uint32_t mcugen_crc32(uint32_t crc, const uint8_t *data, size_t length);

/* One received frame. payload points into the receiver's buffer and stays
 * valid until the next mcugen_frame_rx_push/poll on that receiver. */
typedef struct {
    uint8_t type;
    uint8_t seq;
    uint16_t length;
    const uint8_t *payload;
} mcugen_frame_t;

typedef enum {
    MCUGEN_RX_NONE = 0, /* nothing complete yet: feed more bytes */
    MCUGEN_RX_FRAME,    /* a frame whose CRC is good: *frame describes it */
    MCUGEN_RX_BAD_CRC   /* a complete frame whose CRC is wrong, or a header whose length (over 1024)
                           cannot be a frame's: type/seq/length as received, untrusted; payload not valid */
} mcugen_rx_event_t;

typedef struct {
    uint8_t buf[MCUGEN_FRAME_MAX_BYTES];
    uint16_t len;  /* bytes held, always <= MCUGEN_FRAME_MAX_BYTES */
    uint16_t drop; /* bytes to discard before the next step (the last event's frame) */
} mcugen_frame_rx_t;

void mcugen_frame_rx_init(mcugen_frame_rx_t *rx);

/* Adds one received byte and reports the first event it completes. */
mcugen_rx_event_t mcugen_frame_rx_push(mcugen_frame_rx_t *rx, uint8_t byte, mcugen_frame_t *frame);

/* After an event, call until it returns MCUGEN_RX_NONE before pushing the next
 * byte: a dropped bad frame may hide further frames in the bytes it held. */
mcugen_rx_event_t mcugen_frame_rx_poll(mcugen_frame_rx_t *rx, mcugen_frame_t *frame);

/* Little-endian payload fields (every number on the wire is little-endian), for the
 * agent and the applications' own commands: get reads 1..4 bytes, put writes 1..8. */
uint32_t mcugen_le_get(const uint8_t *p, unsigned bytes);
void mcugen_le_put(uint8_t *p, uint64_t value, unsigned bytes);

/* Where encoded frames go: the board's serial write, or a test's buffer. */
typedef void (*mcugen_frame_write_fn)(const uint8_t *data, size_t length);

/* Encodes and writes one frame (three calls to write: header, payload, CRC).
 * Returns 0, or -1 without writing anything if length exceeds the maximum. */
int mcugen_frame_send(mcugen_frame_write_fn write, uint8_t type, uint8_t seq, const uint8_t *payload,
                      size_t length);

#endif /* MCUGEN_FRAME_H */
