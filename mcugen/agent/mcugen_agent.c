/* mcugen benchmark agent: request dispatch. See mcugen_agent.h and docs/protocol.md.
 *
 * Every length, index and offset from the wire is checked before use; a
 * request that fails a check gets one ERROR and changes nothing.
 */
#include "mcugen_agent.h"

#include <string.h>

#include "mcugen_board.h"
#include "mcugen_frame.h"
#include "mcugen_model.h"

#ifndef MCUGEN_FIRMWARE_BUILD_ID
#define MCUGEN_FIRMWARE_BUILD_ID "unknown"
#endif

/* HELLO strings are cut to this many bytes, so that the reply's size is known. */
#define MCUGEN_AGENT_MAX_STRING 63u
#define MCUGEN_AGENT_HELLO_FIXED (1u + 1u + 4u + 4u + 4u + 2u * (1u + MCUGEN_AGENT_MAX_STRING) + 32u + 4u + 1u + 1u)
#define MCUGEN_AGENT_HELLO_PER_TENSOR (1u + 1u + 6u * 4u + 4u + 4u + 4u)
#define MCUGEN_AGENT_LAYERS (MCUGEN_MODEL_LAYER_COUNT > 0 ? MCUGEN_MODEL_LAYER_COUNT : 1)

/* The HELLO reply must fit one frame: at most 22 inputs and outputs together. */
typedef char mcugen_agent_hello_fits_one_frame
    [(MCUGEN_AGENT_HELLO_FIXED + MCUGEN_AGENT_HELLO_PER_TENSOR * (MCUGEN_MODEL_INPUT_COUNT + MCUGEN_MODEL_OUTPUT_COUNT) <=
      MCUGEN_FRAME_MAX_PAYLOAD)
         ? 1
         : -1];
typedef char mcugen_agent_layer_count_fits_u16[(MCUGEN_MODEL_LAYER_COUNT <= 65535) ? 1 : -1];

static const unsigned mcugen_agent_input_count = MCUGEN_MODEL_INPUT_COUNT;
static const unsigned mcugen_agent_output_count = MCUGEN_MODEL_OUTPUT_COUNT;
static const unsigned mcugen_agent_layer_count = MCUGEN_MODEL_LAYER_COUNT;

static mcugen_frame_rx_t rx;
static uint8_t tx[MCUGEN_FRAME_MAX_PAYLOAD];
static size_t tx_len;

static uint32_t frames_handled;   /* CRC-good frames since boot, the current one included */
static uint32_t invokes_run;      /* INVOKEs that ran the model since boot */
static uint8_t invoked;           /* an INVOKE ran since boot: PROFILE has data */
static uint8_t outputs_valid;     /* an INVOKE ran since boot and no SET_INPUT since */
/* The last INVOKE that ran, for answering its retries: its seq and reply are
 * kept until something may change the model's inputs (an accepted SET_INPUT,
 * an application command). Frames in between that change nothing (HELLO,
 * GET_OUTPUT, PROFILE, refused requests, frames with a bad CRC) keep it, so a
 * retry is answered from here however the exchange around it went. */
static uint8_t invoke_replayable;
static uint8_t last_invoke_seq;
static uint8_t last_invoke_reply[17];

static mcugen_agent_handler_fn app_handler;

static uint64_t layer_counts[MCUGEN_AGENT_LAYERS];
static uint64_t layer_begin_count;

/* ---- reply building: every put is bounded by tx ---- */

static void put_u8(uint32_t v)
{
    if (tx_len < sizeof tx) {
        tx[tx_len++] = (uint8_t)v;
    }
}

static void put_u16(uint32_t v)
{
    put_u8(v & 0xFFu);
    put_u8((v >> 8) & 0xFFu);
}

static void put_u32(uint32_t v)
{
    put_u16(v & 0xFFFFu);
    put_u16(v >> 16);
}

static void put_u64(uint64_t v)
{
    put_u32((uint32_t)(v & 0xFFFFFFFFu));
    put_u32((uint32_t)(v >> 32));
}

static void put_bytes(const uint8_t *data, size_t n)
{
    size_t room = sizeof tx - tx_len;
    if (n > room) {
        n = room;
    }
    memcpy(tx + tx_len, data, n);
    tx_len += n;
}

static void put_str(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && n < MCUGEN_AGENT_MAX_STRING) {
        ++n;
    }
    put_u8((uint32_t)n);
    put_bytes((const uint8_t *)s, n);
}

static uint32_t get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
    return get_u16(p) | (get_u16(p + 2) << 16);
}

static unsigned hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return (unsigned)(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return (unsigned)(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return (unsigned)(c - 'A' + 10);
    }
    return 0;
}

static void send_reply(uint8_t type, uint8_t seq)
{
    (void)mcugen_frame_send(mcugen_board_write, type, seq, tx, tx_len);
}

static void send_error(uint8_t seq, uint8_t code, const char *message)
{
    tx_len = 0;
    put_u8(code);
    put_str(message);
    send_reply(MCUGEN_FRAME_ERROR, seq);
}

/* ---- requests ---- */

static void put_tensor(const mcugen_tensor_info_t *t)
{
    uint32_t rank = t->rank < 0 ? 0u : (t->rank > 6 ? 6u : (uint32_t)t->rank);
    uint32_t scale_bits;
    memcpy(&scale_bits, &t->scale, sizeof scale_bits);
    put_u8((uint32_t)t->dtype);
    put_u8(rank);
    for (uint32_t d = 0; d < rank; ++d) {
        put_u32((uint32_t)t->shape[d]);
    }
    put_u32(t->bytes);
    put_u32(scale_bits);
    put_u32((uint32_t)t->zero_point);
}

static void build_hello(void)
{
    static const char sha_hex[] = MCUGEN_MODEL_SHA256;
    tx_len = 0;
    put_u8(MCUGEN_PROTOCOL_VERSION);
    put_u8((uint32_t)(MCUGEN_BOARD_COUNTER_KIND));
    put_u32((uint32_t)(MCUGEN_BOARD_CLOCK_HZ));
    put_u32(frames_handled);
    put_u32(invokes_run);
    put_str(MCUGEN_BOARD_ID);
    put_str(MCUGEN_FIRMWARE_BUILD_ID);
    for (size_t i = 0; i < 32; ++i) {
        size_t hi = 2 * i;
        unsigned v = 0;
        if (hi + 1 < sizeof sha_hex - 1) {
            v = (hex_digit(sha_hex[hi]) << 4) | hex_digit(sha_hex[hi + 1]);
        }
        put_u8(v);
    }
    put_u32((uint32_t)(MCUGEN_MODEL_ARENA_BYTES));
    put_u8(mcugen_agent_input_count);
    put_u8(mcugen_agent_output_count);
    for (unsigned i = 0; i < mcugen_agent_input_count; ++i) {
        put_tensor(&mcugen_model_inputs[i]);
    }
    for (unsigned i = 0; i < mcugen_agent_output_count; ++i) {
        put_tensor(&mcugen_model_outputs[i]);
    }
}

static void handle_set_input(const mcugen_frame_t *f)
{
    if (f->length < 6) {
        send_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    uint32_t index = f->payload[0];
    uint32_t offset = get_u32(f->payload + 1);
    uint32_t n = (uint32_t)f->length - 5u;
    if (index >= mcugen_agent_input_count) {
        send_error(f->seq, MCUGEN_ERR_BAD_INDEX, "no such input");
        return;
    }
    uint32_t bytes = mcugen_model_inputs[index].bytes;
    uint8_t *dst = (uint8_t *)mcugen_model_input((int)index);
    if (dst == NULL || offset > bytes || n > bytes - offset) {
        send_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "past the input");
        return;
    }
    memcpy(dst + offset, f->payload + 5, n);
    outputs_valid = 0;
    invoke_replayable = 0; /* the next INVOKE runs on new inputs: never a retry */
    tx_len = 0;
    put_u8(index);
    put_u32(offset);
    put_u16(n);
    send_reply(MCUGEN_CMD_SET_INPUT | MCUGEN_REPLY_BIT, f->seq);
}

static void handle_invoke(const mcugen_frame_t *f)
{
    if (f->length != 0) {
        send_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    /* A retried INVOKE (the seq of the last one that ran, no new inputs since)
     * is answered again without running the model: the first run may have
     * overwritten the inputs' arena bytes, and its reply may be all that was lost. */
    if (!(invoke_replayable && f->seq == last_invoke_seq)) {
        for (unsigned i = 0; i < mcugen_agent_layer_count; ++i) {
            layer_counts[i] = 0;
        }
        uint64_t start = mcugen_board_counter();
        int status = mcugen_model_invoke();
        uint64_t count = mcugen_board_counter() - start;
        ++invokes_run;
        invoked = 1;
        outputs_valid = 1;
        tx_len = 0;
        put_u8((uint32_t)status & 0xFFu);
        put_u64(count);
        put_u32(frames_handled);
        put_u32(invokes_run);
        memcpy(last_invoke_reply, tx, sizeof last_invoke_reply);
        invoke_replayable = 1;
        last_invoke_seq = f->seq;
    }
    tx_len = 0;
    put_bytes(last_invoke_reply, sizeof last_invoke_reply);
    send_reply(MCUGEN_CMD_INVOKE | MCUGEN_REPLY_BIT, f->seq);
}

static void handle_get_output(const mcugen_frame_t *f)
{
    if (f->length != 7) {
        send_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    uint32_t index = f->payload[0];
    uint32_t offset = get_u32(f->payload + 1);
    uint32_t n = get_u16(f->payload + 5);
    if (index >= mcugen_agent_output_count) {
        send_error(f->seq, MCUGEN_ERR_BAD_INDEX, "no such output");
        return;
    }
    if (n > MCUGEN_FRAME_MAX_PAYLOAD - 5u) {
        send_error(f->seq, MCUGEN_ERR_TOO_LARGE, "over 1019 bytes");
        return;
    }
    uint32_t bytes = mcugen_model_outputs[index].bytes;
    const uint8_t *src = (const uint8_t *)mcugen_model_output((int)index);
    if (src == NULL || n == 0 || offset > bytes || n > bytes - offset) {
        send_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "past the output");
        return;
    }
    if (!outputs_valid) {
        send_error(f->seq, MCUGEN_ERR_NOT_READY, "no INVOKE since boot or SET_INPUT");
        return;
    }
    tx_len = 0;
    put_u8(index);
    put_u32(offset);
    put_bytes(src + offset, n);
    send_reply(MCUGEN_CMD_GET_OUTPUT | MCUGEN_REPLY_BIT, f->seq);
}

static void handle_profile(const mcugen_frame_t *f)
{
    if (f->length != 2) {
        send_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        return;
    }
    uint32_t first = get_u16(f->payload);
    if (first > mcugen_agent_layer_count) {
        send_error(f->seq, MCUGEN_ERR_OUT_OF_RANGE, "past the last layer");
        return;
    }
    if (!invoked) {
        send_error(f->seq, MCUGEN_ERR_NOT_READY, "no INVOKE since boot");
        return;
    }
    uint32_t n = mcugen_agent_layer_count - first;
    if (n > MCUGEN_PROFILE_MAX_PER_REPLY) {
        n = MCUGEN_PROFILE_MAX_PER_REPLY;
    }
    tx_len = 0;
    put_u16(mcugen_agent_layer_count);
    put_u16(first);
    put_u8(n);
    for (uint32_t i = 0; i < n; ++i) {
        put_u64(layer_counts[first + i]);
    }
    send_reply(MCUGEN_CMD_PROFILE | MCUGEN_REPLY_BIT, f->seq);
}

static void handle_frame(const mcugen_frame_t *f)
{
    ++frames_handled;
    switch (f->type) {
    case MCUGEN_CMD_HELLO:
        if (f->length != 0) {
            send_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
            return;
        }
        build_hello();
        send_reply(MCUGEN_CMD_HELLO | MCUGEN_REPLY_BIT, f->seq);
        return;
    case MCUGEN_CMD_SET_INPUT:
        handle_set_input(f);
        return;
    case MCUGEN_CMD_INVOKE:
        handle_invoke(f);
        return;
    case MCUGEN_CMD_GET_OUTPUT:
        handle_get_output(f);
        return;
    case MCUGEN_CMD_PROFILE:
        handle_profile(f);
        return;
    default:
        if (app_handler != NULL && f->type < MCUGEN_REPLY_BIT && app_handler(f)) {
            invoke_replayable = 0; /* an application command may have changed the inputs */
            return;
        }
        send_error(f->seq, MCUGEN_ERR_UNKNOWN_COMMAND, "unknown command");
        return;
    }
}

/* ---- for applications ---- */

void mcugen_agent_set_handler(mcugen_agent_handler_fn handler)
{
    app_handler = handler;
}

void mcugen_agent_reply(uint8_t command, uint8_t seq, const uint8_t *payload, size_t length)
{
    (void)mcugen_frame_send(mcugen_board_write, (uint8_t)(command | MCUGEN_REPLY_BIT), seq, payload, length);
}

void mcugen_agent_error(uint8_t seq, uint8_t code, const char *message)
{
    send_error(seq, code, message);
}

void mcugen_agent_send_event(uint8_t type, const uint8_t *payload, size_t length)
{
    (void)mcugen_frame_send(mcugen_board_write, type, 0, payload, length);
}

/* ---- the loop ---- */

void mcugen_agent_start(void)
{
    mcugen_frame_rx_init(&rx);
    frames_handled = 0;
    invokes_run = 0;
    invoked = 0;
    outputs_valid = 0;
    invoke_replayable = 0;
    last_invoke_seq = 0;
    memset(last_invoke_reply, 0, sizeof last_invoke_reply);
    memset(layer_counts, 0, sizeof layer_counts);
    build_hello();
    send_reply(MCUGEN_FRAME_BOOT, 0);
}

void mcugen_agent_feed(uint8_t byte)
{
    mcugen_frame_t frame;
    mcugen_rx_event_t event = mcugen_frame_rx_push(&rx, byte, &frame);
    while (event != MCUGEN_RX_NONE) {
        if (event == MCUGEN_RX_FRAME) {
            handle_frame(&frame);
        } else {
            send_error(frame.seq, MCUGEN_ERR_BAD_CRC, "bad CRC");
        }
        event = mcugen_frame_rx_poll(&rx, &frame);
    }
}

unsigned mcugen_agent_poll(void)
{
    unsigned n = 0;
    uint8_t byte;
    while (mcugen_board_poll_byte(&byte)) {
        mcugen_agent_feed(byte);
        ++n;
    }
    return n;
}

void mcugen_agent_run(void)
{
    mcugen_board_init();
    mcugen_agent_start();
    for (;;) {
        mcugen_agent_feed(mcugen_board_read_byte());
    }
}

/* ---- per-layer profile ---- */

void mcugen_profile_layer_begin(int index)
{
    (void)index;
    layer_begin_count = mcugen_board_counter();
}

void mcugen_profile_layer_end(int index)
{
    uint64_t now = mcugen_board_counter();
    if (index >= 0 && (unsigned)index < mcugen_agent_layer_count) {
        layer_counts[index] += now - layer_begin_count; /* a layer run in strips: every strip adds */
    }
}
