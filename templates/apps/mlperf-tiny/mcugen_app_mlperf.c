/* The mlperf-tiny application: the MLPerf Tiny device under test (DUT).
 *
 * Speaks the EEMBC runner's text protocol (mlcommons/tiny, benchmark/api and
 * benchmark/runner, performance mode) on the board's serial link:
 *
 *   commands end with '%', tokens are separated by spaces, at most 80 characters;
 *   every reply ends with "m-ready\r\n"; errors are "e-[...]" lines.
 *
 *   boot          m-timestamp-mode-performance, m-lap-us-N, m-init-done, m-ready
 *   name          m-name-dut-[mcugen-BOARD]
 *   timestamp     m-lap-us-N (microseconds of the board counter)
 *   profile       m-profile-[ULPMark for tinyML Firmware V0.0.1], m-model-[TAG]
 *   help          the command list
 *   db load N     m-[Expecting N bytes]: N bytes of input follow (N <= the input tensor)
 *   db HH..       hex bytes into the buffer; m-load-done once N have arrived
 *   db print      m-buffer-xx-xx-... lines, 8 bytes each
 *   infer N [W]   W warmups (default 10), then N timed inferences between two
 *                 m-lap-us lines, then the results
 *   results       m-results-[a,b,...]: output 0 dequantized, 3 decimals
 *
 * The same link also carries the benchmark agent (mcugen_agent.h): every byte
 * goes to the agent too, which answers HELLO (and the rest of docs/protocol.md)
 * and ignores text. The text parser in turn skips whole agent frames (A5 5A,
 * header, payload, CRC), so a HELLO between two runner commands, or even in the
 * middle of one, leaves the runner's command intact. Runner commands are
 * printable ASCII, so they never contain A5.
 *
 * Not supported: energy mode (a timestamp GPIO and 9600 baud) and the streaming
 * wake-word commands (start, stop, print_detections).
 *
 * Portable C99, no allocation, no stdio (so no float printf: newlib-nano has none
 * by default); everything in static memory of fixed size.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_board.h"
#include "mcugen_frame.h"
#include "mcugen_mlperf_config.h"
#include "mcugen_model.h"
#include "mcugen_text.h"

/* The runner's DUT feeds one tensor; the db buffer holds exactly it. */
#if MCUGEN_MODEL_INPUT_COUNT != 1
#error "mlperf-tiny: the MLPerf Tiny runner loads one input tensor; this model has another number of inputs"
#endif
#if MCUGEN_MODEL_OUTPUT_COUNT < 1
#error "mlperf-tiny: the model has no output to report in m-results"
#endif
#if MLPERF_INPUT_MODE == MLPERF_INPUT_UINT8_TO_INT8 && MCUGEN_MODEL_INPUT0_DTYPE != MCUGEN_DTYPE_INT8
#error "mlperf-tiny: input=uint8-to-int8 needs an int8 input tensor; use input=raw for this model"
#endif

/* Protocol constants, as internally_implemented.h and submitter_implemented.h define them. */
#define MLPERF_COMMAND_MAX 80u /* EE_CMD_SIZE: characters of one command, without the '%' */
#define MLPERF_COMMAND_TERMINATOR '%'
#define MLPERF_FIRMWARE_VERSION "ULPMark for tinyML Firmware V0.0.1"
#define MLPERF_DEFAULT_WARMUPS 10u /* infer N without W: the reference's default */
#define MLPERF_BYTES_PER_PRINT_LINE 8u
#define MLPERF_MAX_TOKENS 4u /* "db load N" and "infer N W" need at most 3; later tokens are ignored */

/* db buffer: the runner's bytes as they came, kept apart from the arena, which
 * every inference overwrites. */
#define MLPERF_DB_CAPACITY ((uint32_t)MCUGEN_MODEL_INPUT0_BYTES)

typedef struct {
    uint8_t bytes[MLPERF_DB_CAPACITY];
    uint32_t expected; /* N of the last accepted `db load N`; 0 before one */
    uint32_t loaded;   /* bytes received since then, always <= expected */
} mlperf_db_t;

/* Where the receiver is with respect to an agent frame it is skipping. */
typedef enum {
    FRAME_SKIP_NONE = 0, /* text */
    FRAME_SKIP_SAW_SYNC0, /* an A5: a frame if 5A follows */
    FRAME_SKIP_HEADER,    /* type, seq, length (u16 LE) */
    FRAME_SKIP_BODY       /* payload and CRC-32 */
} frame_skip_state_t;

/* One command line being received. */
typedef struct {
    char text[MLPERF_COMMAND_MAX + 1u]; /* NUL-terminated when dispatched */
    uint32_t length;                    /* characters held, <= MLPERF_COMMAND_MAX */
    int overflowed;                     /* more than MLPERF_COMMAND_MAX arrived: refused at the '%' */
    frame_skip_state_t skip_state;
    uint8_t header[4]; /* type, seq, length low, length high */
    uint32_t header_length;
    uint32_t body_remaining; /* payload + CRC bytes still to skip */
} mlperf_receiver_t;

static mlperf_db_t db;
static mlperf_receiver_t receiver;
/* Replies are assembled here and written in pieces, not a byte at a time. */
static mcugen_text_t output;
static int have_results; /* an infer has run since boot: output 0 holds its result */

/* ---- output ---------------------------------------------------------------------------- */

static void out_char(char c)
{
    mcugen_text_char(&output, c);
}

static void out_text(const char *text)
{
    mcugen_text_str(&output, text);
}

/* Ends a reply line; the runner splits on '\n' and drops '\r'. */
static void out_line_end(void)
{
    out_text("\r\n");
    mcugen_text_flush(&output);
}

static void out_line(const char *text)
{
    out_text(text);
    out_line_end();
}

static void out_u64(uint64_t value)
{
    mcugen_text_u64(&output, value);
}

/* ---- timestamps ------------------------------------------------------------------------ */

/* Microseconds of the board counter: whole seconds and the remainder apart, so
 * the 64-bit products cannot overflow for any count. Under QEMU the counter
 * counts instructions at the board's nominal clock, so these are nominal too. */
static uint64_t counter_microseconds(void)
{
    const uint64_t clock_hz = (uint64_t)MCUGEN_BOARD_CLOCK_HZ;
    uint64_t count = mcugen_board_counter();
    return (count / clock_hz) * 1000000u + (count % clock_hz) * 1000000u / clock_hz;
}

static void print_timestamp(void)
{
    out_text("m-lap-us-");
    out_u64(counter_microseconds());
    out_line_end();
}

/* ---- parsing helpers ------------------------------------------------------------------- */

typedef enum { NUMBER_OK = 0, NUMBER_INVALID, NUMBER_TOO_LARGE } number_status_t;

/* A decimal number of at most UINT32_MAX, digits only (no sign, no spaces). */
static number_status_t parse_u32(const char *text, uint32_t *value)
{
    uint64_t result = 0u;
    if (text == NULL || *text == '\0') {
        return NUMBER_INVALID;
    }
    for (; *text != '\0'; ++text) {
        if (*text < '0' || *text > '9') {
            return NUMBER_INVALID;
        }
        result = result * 10u + (uint64_t)(*text - '0');
        if (result > UINT32_MAX) {
            return NUMBER_TOO_LARGE;
        }
    }
    *value = (uint32_t)result;
    return NUMBER_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Splits line in place at spaces (runs of them count as one, as strtok does);
 * returns how many tokens, at most MLPERF_MAX_TOKENS (the rest are ignored). */
static uint32_t split_tokens(char *line, const char *tokens[MLPERF_MAX_TOKENS])
{
    uint32_t count = 0u;
    char *cursor = line;
    while (count < MLPERF_MAX_TOKENS) {
        while (*cursor == ' ') {
            ++cursor;
        }
        if (*cursor == '\0') {
            break;
        }
        tokens[count++] = cursor;
        while (*cursor != ' ' && *cursor != '\0') {
            ++cursor;
        }
        if (*cursor == ' ') {
            *cursor++ = '\0';
        }
    }
    return count;
}

/* ---- db -------------------------------------------------------------------------------- */

static void db_load(const char *count_text)
{
    uint32_t count = 0u;
    number_status_t status;
    if (count_text == NULL) {
        out_line("e-[Command 'db load' requires the # of bytes]");
        return;
    }
    status = parse_u32(count_text, &count);
    if (status == NUMBER_INVALID || (status == NUMBER_OK && count == 0u)) {
        out_line("e-[Command 'db load' must be >0 bytes]");
        return;
    }
    if (status == NUMBER_TOO_LARGE || count > MLPERF_DB_CAPACITY) {
        /* Refused whole: nothing of the earlier buffer is kept either. */
        db.expected = 0u;
        db.loaded = 0u;
        out_text("e-[Supplied buffer size ");
        out_text(count_text);
        out_text(" exceeds maximum of ");
        out_u64(MLPERF_DB_CAPACITY);
        out_text("]");
        out_line_end();
        return;
    }
    db.expected = count;
    db.loaded = 0u;
    out_text("m-[Expecting ");
    out_u64(count);
    out_text(" bytes]");
    out_line_end();
}

/* Checks every digit before storing any, so a bad command changes nothing. */
static void db_hex(const char *hex)
{
    size_t digits = strlen(hex); /* <= MLPERF_COMMAND_MAX: the line is bounded */
    size_t i;
    if (db.expected == 0u) {
        out_line("e-[Command 'db load N' must come before the data]");
        return;
    }
    if (db.loaded == db.expected) {
        out_line("e-[Buffer already full: send 'db load N' to load again]");
        return;
    }
    if ((digits & 1u) != 0u) {
        out_line("e-[Insufficient number of hex digits]");
        return;
    }
    for (i = 0u; i < digits; i += 2u) {
        if (hex_value(hex[i]) < 0 || hex_value(hex[i + 1u]) < 0) {
            out_text("e-[Invalid hex digit '");
            out_char(hex[i]);
            out_char(hex[i + 1u]);
            out_text("']");
            out_line_end();
            return;
        }
    }
    for (i = 0u; i < digits && db.loaded < db.expected; i += 2u) {
        db.bytes[db.loaded++] = (uint8_t)((hex_value(hex[i]) << 4) | hex_value(hex[i + 1u]));
    }
    if (db.loaded == db.expected) {
        out_line("m-load-done"); /* digits beyond N are disregarded, as the reference does */
    }
}

/* The N bytes of the last `db load N`, 8 to a line (the reference prints all N,
 * received or not). */
static void db_print(void)
{
    uint32_t i;
    for (i = 0u; i < db.expected; ++i) {
        if (i % MLPERF_BYTES_PER_PRINT_LINE == 0u) {
            out_text("m-buffer-");
        }
        mcugen_text_hex_byte(&output, db.bytes[i]);
        if ((i + 1u) % MLPERF_BYTES_PER_PRINT_LINE == 0u || i + 1u == db.expected) {
            out_line_end();
        } else {
            out_char('-');
        }
    }
}

static void command_db(const char *tokens[MLPERF_MAX_TOKENS], uint32_t token_count)
{
    if (token_count < 2u) {
        out_line("e-[Command 'db' requires a subcommand]");
    } else if (strcmp(tokens[1], "load") == 0) {
        db_load(token_count > 2u ? tokens[2] : NULL);
    } else if (strcmp(tokens[1], "print") == 0) {
        db_print();
    } else {
        db_hex(tokens[1]);
    }
}

/* ---- inference ------------------------------------------------------------------------- */

/* The db bytes into the input tensor. Done before every inference, not once:
 * the generated model may reuse the input's arena bytes for later tensors
 * (docs/protocol.md, INVOKE), so an input is not intact after an invoke. */
static void load_input(void)
{
    uint8_t *input = (uint8_t *)mcugen_model_input(0);
#if MLPERF_INPUT_MODE == MLPERF_INPUT_UINT8_TO_INT8
    uint32_t i;
    for (i = 0u; i < MLPERF_DB_CAPACITY; ++i) {
        input[i] = (uint8_t)(db.bytes[i] ^ 0x80u); /* the int8 bit pattern of byte - 128 */
    }
#else
    memcpy(input, db.bytes, MLPERF_DB_CAPACITY);
#endif
}

static void run_inference(void)
{
    load_input();
    (void)mcugen_model_invoke();
}

static float output_element(const mcugen_tensor_info_t *info, const void *data, uint32_t index)
{
    float quantized;
    switch (info->dtype) {
    case MCUGEN_DTYPE_INT8:
        quantized = (float)(((const int8_t *)data)[index] - info->zero_point);
        break;
    case MCUGEN_DTYPE_UINT8:
        quantized = (float)((int32_t)((const uint8_t *)data)[index] - info->zero_point);
        break;
    case MCUGEN_DTYPE_INT16:
        quantized = (float)(((const int16_t *)data)[index] - info->zero_point);
        break;
    case MCUGEN_DTYPE_INT32:
        quantized = (float)((int64_t)((const int32_t *)data)[index] - info->zero_point);
        break;
    case MCUGEN_DTYPE_FLOAT32:
        return ((const float *)data)[index]; /* already real values */
    default:
        return 0.0f;
    }
    return quantized * info->scale; /* (q - zero_point) * scale, in float as TFLM's DequantizeInt8ToFloat */
}

static uint32_t element_bytes(int32_t dtype)
{
    switch (dtype) {
    case MCUGEN_DTYPE_INT16:
        return 2u;
    case MCUGEN_DTYPE_INT32:
    case MCUGEN_DTYPE_FLOAT32:
        return 4u;
    default:
        return 1u;
    }
}

static void print_results(void)
{
    const mcugen_tensor_info_t *info = &mcugen_model_outputs[0];
    const void *data = mcugen_model_output(0);
    uint32_t count = info->bytes / element_bytes(info->dtype);
    uint32_t i;
    if (!have_results) {
        out_line("e-[No results yet: run infer first]");
        return;
    }
    out_text("m-results-[");
    for (i = 0u; i < count; ++i) {
        if (i > 0u) {
            out_char(',');
        }
        mcugen_text_fixed3(&output, output_element(info, data, i));
    }
    out_text("]");
    out_line_end();
}

static void command_infer(const char *tokens[MLPERF_MAX_TOKENS], uint32_t token_count)
{
    uint32_t iterations = 1u;
    uint32_t warmups = MLPERF_DEFAULT_WARMUPS;
    uint32_t i;
    if (token_count > 1u) {
        if (parse_u32(tokens[1], &iterations) != NUMBER_OK || iterations == 0u) {
            out_line("e-[Inference iterations must be >0]");
            return;
        }
        if (token_count > 2u && parse_u32(tokens[2], &warmups) != NUMBER_OK) {
            out_line("e-[Inference warmup must be >=0]");
            return;
        }
    }
    if (db.expected != MLPERF_DB_CAPACITY || db.loaded != MLPERF_DB_CAPACITY) {
        out_text("e-[Input db has ");
        out_u64(db.loaded);
        out_text(" bytes, expected ");
        out_u64(MLPERF_DB_CAPACITY);
        out_text("]");
        out_line_end();
        return;
    }
    out_text("m-warmup-start-");
    out_u64(warmups);
    out_line_end();
    for (i = 0u; i < warmups; ++i) {
        run_inference();
    }
    out_line("m-warmup-done");
    out_text("m-infer-start-");
    out_u64(iterations);
    out_line_end();
    print_timestamp();
    for (i = 0u; i < iterations; ++i) {
        run_inference();
    }
    print_timestamp();
    out_line("m-infer-done");
    have_results = 1;
    print_results();
}

/* ---- commands -------------------------------------------------------------------------- */

static void command_help(void)
{
    out_line(MLPERF_FIRMWARE_VERSION);
    out_line("");
    out_line("help         : Print this information");
    out_line("name         : Print the name of the device");
    out_line("timestamp    : Print a timestamp (m-lap-us-N)");
    out_line("profile      : Print the firmware version and the model");
    out_line("db SUBCMD    : Manipulate the input byte buffer");
    out_line("  load N     : Expect N bytes (at most the input tensor's)");
    out_line("  db HH[HH]* : Load 8-bit hex byte(s) until N bytes");
    out_line("  print      : Print the N bytes as hex");
    out_line("infer N [W=10]: Load input, execute N inferences after W warmup loops");
    out_line("results      : Print the last result vector");
}

static void dispatch(char *line)
{
    const char *tokens[MLPERF_MAX_TOKENS];
    uint32_t token_count = split_tokens(line, tokens);
    if (token_count == 0u) {
        /* A bare '%' ends any partial command (the runner's reset_port sends one): just m-ready. */
    } else if (strcmp(tokens[0], "name") == 0) {
        out_line("m-name-dut-[" MLPERF_VENDOR_NAME "]");
    } else if (strcmp(tokens[0], "timestamp") == 0) {
        print_timestamp();
    } else if (strcmp(tokens[0], "profile") == 0) {
        out_line("m-profile-[" MLPERF_FIRMWARE_VERSION "]");
        out_line("m-model-[" MLPERF_MODEL_TAG "]");
    } else if (strcmp(tokens[0], "help") == 0) {
        command_help();
    } else if (strcmp(tokens[0], "db") == 0) {
        command_db(tokens, token_count);
    } else if (strcmp(tokens[0], "infer") == 0) {
        command_infer(tokens, token_count);
    } else if (strcmp(tokens[0], "results") == 0) {
        print_results();
    } else {
        out_text("e-[Unknown command: ");
        out_text(tokens[0]);
        out_text("]");
        out_line_end();
    }
    out_line("m-ready");
}

/* ---- receiver -------------------------------------------------------------------------- */

/* 1 if the byte belongs to an agent frame (and is skipped), 0 if it is text. */
static int skip_frame_byte(uint8_t byte)
{
    switch (receiver.skip_state) {
    case FRAME_SKIP_BODY:
        if (--receiver.body_remaining == 0u) {
            receiver.skip_state = FRAME_SKIP_NONE;
        }
        return 1;
    case FRAME_SKIP_HEADER:
        receiver.header[receiver.header_length++] = byte;
        if (receiver.header_length == sizeof receiver.header) {
            uint32_t payload = (uint32_t)receiver.header[2] | ((uint32_t)receiver.header[3] << 8);
            /* A longer length is no frame the agent accepts: stop skipping there. */
            receiver.skip_state = payload <= MCUGEN_FRAME_MAX_PAYLOAD ? FRAME_SKIP_BODY : FRAME_SKIP_NONE;
            receiver.body_remaining = payload + 4u; /* + CRC-32 */
        }
        return 1;
    case FRAME_SKIP_SAW_SYNC0:
        if (byte == MCUGEN_FRAME_SYNC1) {
            receiver.skip_state = FRAME_SKIP_HEADER;
            receiver.header_length = 0u;
            return 1;
        }
        receiver.skip_state = FRAME_SKIP_NONE;
        break; /* a lone A5: this byte is looked at afresh */
    case FRAME_SKIP_NONE:
    default:
        break;
    }
    if (byte == MCUGEN_FRAME_SYNC0) {
        receiver.skip_state = FRAME_SKIP_SAW_SYNC0;
        return 1;
    }
    return 0;
}

static void receive_byte(uint8_t byte)
{
    if (skip_frame_byte(byte)) {
        return;
    }
    if (byte == (uint8_t)MLPERF_COMMAND_TERMINATOR) {
        if (receiver.overflowed) {
            out_line("e-[Command longer than 80 characters]");
            out_line("m-ready");
        } else {
            receiver.text[receiver.length] = '\0';
            dispatch(receiver.text);
        }
        receiver.length = 0u;
        receiver.overflowed = 0;
        return;
    }
    if (byte < 0x20u || byte > 0x7Eu) {
        return; /* CR, LF from a terminal and other control bytes are no part of a command */
    }
    if (receiver.length < MLPERF_COMMAND_MAX) {
        receiver.text[receiver.length++] = (char)byte;
    } else {
        receiver.overflowed = 1;
    }
}

void mcugen_app_run(void)
{
    mcugen_board_init();
    /* BOOT first: `mcugen flash` identifies the firmware by it (or by HELLO). The
     * line end closes the line its binary bytes began for a text reader, so the
     * banner lines below arrive whole. */
    mcugen_agent_start();
    out_line_end();
    out_line("m-timestamp-mode-performance");
    print_timestamp();
    out_line("m-init-done");
    out_line("m-ready");
    for (;;) {
        uint8_t byte = mcugen_board_read_byte();
        mcugen_agent_feed(byte);
        receive_byte(byte);
    }
}
