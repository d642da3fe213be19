/* The person-led application: camera -> model -> class -> LEDs, forever.
 *
 * Each frame: pre-process into the model's input (mcugen_preprocess.c), invoke,
 * decide the class (the target class when its score reaches the threshold, else
 * the best other class), light that class's LED and switch the others off, then
 * report the result twice on the serial link: a RESULT frame for mcugen
 * (docs/protocol.md, "Application commands") and a text line for people:
 *
 *   mcugen: frame 12 person 0.914 led green cycles 2203117 (pre 41230)
 *
 * Between frames the link agent answers HELLO (and the bench commands), so
 * `mcugen flash` can tell which firmware runs. On a board whose camera is fed by
 * the host (emulated boards), capture blocks serving the link until a whole frame
 * has arrived (mcugen_camera_host.c).
 */
#include <string.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_app_config.h"
#include "mcugen_board.h"
#include "mcugen_camera_host.h"
#include "mcugen_model.h"
#include "mcugen_text.h"

#define MCUGEN_APP_STATUS_OK 0u
#define MCUGEN_APP_STATUS_CAMERA 1u     /* the camera failed: detail = its MCUGEN_CAMERA_ERR_* */
#define MCUGEN_APP_STATUS_PREPROCESS 2u /* the frame could not become the input: detail = the error */
#define MCUGEN_APP_STATUS_INVOKE 3u     /* the model returned an error: detail = its status */
#define MCUGEN_APP_NO_CLASS 0xFFu
/* Raw output bytes carried in a RESULT (the whole output of a classifier). */
#define MCUGEN_APP_RESULT_OUTPUT_MAX 512u

static const char *const mcugen_board_led_names[] = MCUGEN_BOARD_LED_NAMES;
static uint8_t result[48 + MCUGEN_APP_RESULT_OUTPUT_MAX];
static size_t result_len;
static uint32_t frames_done;

static int handle_request(const mcugen_frame_t *f)
{
#if MCUGEN_BOARD_CAMERA_HOST_FED
    if (mcugen_camera_host_handle(f)) {
        return 1;
    }
#endif
    if (f->type == MCUGEN_CMD_GET_RESULT) {
        if (f->length != 0) {
            mcugen_agent_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
        } else if (result_len == 0) {
            mcugen_agent_error(f->seq, MCUGEN_ERR_NOT_READY, "no result yet");
        } else {
            mcugen_agent_reply(MCUGEN_CMD_GET_RESULT, f->seq, result, result_len);
        }
        return 1;
    }
    return 0;
}

static float class_score(const void *output, unsigned i)
{
    switch (mcugen_model_outputs[0].dtype) {
    case MCUGEN_DTYPE_INT8:
        return ((float)((const int8_t *)output)[i] - (float)MCUGEN_APP_OUTPUT_ZERO_POINT) * MCUGEN_APP_OUTPUT_SCALE;
    case MCUGEN_DTYPE_UINT8:
        return ((float)((const uint8_t *)output)[i] - (float)MCUGEN_APP_OUTPUT_ZERO_POINT) * MCUGEN_APP_OUTPUT_SCALE;
    case MCUGEN_DTYPE_FLOAT32:
        return ((const float *)output)[i];
    default:
        return 0.0f;
    }
}

/* The decision rule of the header comment; returns the class and its score. */
static unsigned decide(const void *output, float *score)
{
    int target = MCUGEN_APP_TARGET_CLASS;
    unsigned best = MCUGEN_APP_NO_CLASS;
    float best_score = 0.0f;
    if (target >= 0 && class_score(output, (unsigned)target) >= MCUGEN_APP_THRESHOLD) {
        *score = class_score(output, (unsigned)target);
        return (unsigned)target;
    }
    for (unsigned i = 0; i < MCUGEN_APP_CLASS_COUNT; ++i) {
        float s = class_score(output, i);
        if ((int)i != target && (best == MCUGEN_APP_NO_CLASS || s > best_score)) {
            best = i;
            best_score = s;
        }
    }
    *score = best_score;
    return best;
}

static void show_class(unsigned cls)
{
    for (unsigned i = 0; i < MCUGEN_APP_CLASS_COUNT; ++i) {
        int led = mcugen_app_led_of_class[i];
        if (led >= 0 && i != cls) {
            mcugen_board_led_set((unsigned)led, 0);
        }
    }
    if (cls < MCUGEN_APP_CLASS_COUNT && mcugen_app_led_of_class[cls] >= 0) {
        mcugen_board_led_set((unsigned)mcugen_app_led_of_class[cls], 1);
    }
}

/* RESULT payload (docs/protocol.md): every field little-endian. */
static void put(size_t *at, uint64_t value, unsigned bytes)
{
    if (*at + bytes <= sizeof result) {
        mcugen_le_put(result + *at, value, bytes);
        *at += bytes;
    }
}

static void report(uint16_t frame_id, uint8_t status, int32_t detail, unsigned cls, float score,
                   uint64_t pre_count, uint64_t invoke_count, uint32_t input_crc)
{
    size_t at = 0;
    uint32_t score_bits;
    memcpy(&score_bits, &score, sizeof score_bits);
    put(&at, frame_id, 2);
    put(&at, frames_done, 4);
    put(&at, status, 1);
    put(&at, (uint32_t)detail, 4);
    put(&at, cls, 1);
    put(&at, score_bits, 4);
    put(&at, mcugen_board_led_state(), 4);
    put(&at, pre_count, 8);
    put(&at, invoke_count, 8);
    put(&at, input_crc, 4);
    uint32_t out_bytes = 0;
    const uint8_t *output = (const uint8_t *)mcugen_model_output(0);
    if (status == MCUGEN_APP_STATUS_OK && output != NULL) {
        out_bytes = mcugen_model_outputs[0].bytes;
        if (out_bytes > MCUGEN_APP_RESULT_OUTPUT_MAX) {
            out_bytes = MCUGEN_APP_RESULT_OUTPUT_MAX;
        }
    }
    put(&at, out_bytes, 2);
    for (uint32_t i = 0; i < out_bytes; ++i) {
        put(&at, output[i], 1);
    }
    result_len = at;
    mcugen_agent_send_event(MCUGEN_FRAME_RESULT, result, result_len);

    /* The same for people, between frames (the host's parser skips it). */
    mcugen_text_t line;
    mcugen_text_init(&line);
    mcugen_text_str(&line, "mcugen: frame ");
    mcugen_text_u64(&line, frames_done);
    if (status != MCUGEN_APP_STATUS_OK) {
        mcugen_text_str(&line, status == MCUGEN_APP_STATUS_CAMERA ? " camera error " :
                               status == MCUGEN_APP_STATUS_PREPROCESS ? " pre-processing error " : " model error ");
        mcugen_text_i64(&line, detail);
    } else {
        mcugen_text_str(&line, " ");
        mcugen_text_str(&line, cls < MCUGEN_APP_CLASS_COUNT ? mcugen_app_labels[cls] : "none");
        mcugen_text_str(&line, " ");
        mcugen_text_fixed3(&line, score);
        mcugen_text_str(&line, " led ");
        int led = cls < MCUGEN_APP_CLASS_COUNT ? mcugen_app_led_of_class[cls] : -1;
        mcugen_text_str(&line, led >= 0 ? mcugen_board_led_names[led] : "off");
        mcugen_text_str(&line, MCUGEN_BOARD_COUNTER_KIND == MCUGEN_COUNTER_CYCLES ? " cycles " : " instructions ");
        mcugen_text_u64(&line, invoke_count);
        mcugen_text_str(&line, " (pre ");
        mcugen_text_u64(&line, pre_count);
        mcugen_text_str(&line, ")");
    }
    mcugen_text_str(&line, "\r\n");
    mcugen_text_flush(&line);
}

void mcugen_app_run(void)
{
    mcugen_board_init();
    mcugen_agent_set_handler(handle_request);
    mcugen_agent_start();
    int err = mcugen_board_camera_start();
    if (err != 0) {
        /* Say so once, then keep answering the link (HELLO still identifies the firmware). */
        report(0, MCUGEN_APP_STATUS_CAMERA, err, MCUGEN_APP_NO_CLASS, 0.0f, 0, 0, 0);
        for (;;) {
            mcugen_agent_feed(mcugen_board_read_byte());
        }
    }
    for (;;) {
        mcugen_camera_frame_t frame;
        (void)mcugen_agent_poll(); /* requests that arrived while the last frame ran */
        err = mcugen_board_camera_capture(&frame);
        ++frames_done;
        uint16_t frame_id = (uint16_t)frames_done;
#if MCUGEN_BOARD_CAMERA_HOST_FED
        frame_id = mcugen_camera_host_frame_id();
#endif
        if (err != 0) {
            report(frame_id, MCUGEN_APP_STATUS_CAMERA, err, MCUGEN_APP_NO_CLASS, 0.0f, 0, 0, 0);
            continue;
        }
        void *input = mcugen_model_input(0);
        uint64_t t0 = mcugen_board_counter();
        err = mcugen_preprocess(&frame, &mcugen_app_preprocess, input, mcugen_model_inputs[0].bytes);
        uint64_t t1 = mcugen_board_counter();
        if (err != 0) {
            report(frame_id, MCUGEN_APP_STATUS_PREPROCESS, err, MCUGEN_APP_NO_CLASS, 0.0f, t1 - t0, 0, 0);
            continue;
        }
        /* The input's CRC before invoking: the model may reuse the input's arena bytes. */
        uint32_t input_crc = mcugen_crc32(0, (const uint8_t *)input, mcugen_model_inputs[0].bytes);
        uint64_t t2 = mcugen_board_counter();
        int status = mcugen_model_invoke();
        uint64_t t3 = mcugen_board_counter();
        if (status != 0) {
            report(frame_id, MCUGEN_APP_STATUS_INVOKE, status, MCUGEN_APP_NO_CLASS, 0.0f, t1 - t0, t3 - t2,
                   input_crc);
            continue;
        }
        float score = 0.0f;
        unsigned cls = decide(mcugen_model_output(0), &score);
        show_class(cls);
        report(frame_id, MCUGEN_APP_STATUS_OK, 0, cls, score, t1 - t0, t3 - t2, input_crc);
    }
}
