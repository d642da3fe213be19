/* The detect-led application: camera -> detector -> boxes -> LED, forever.
 *
 * Each frame: pre-process into the model's input (mcugen_preprocess.c), invoke, take the
 * detection head's boxes (mcugen_model_boxes(), best first), and switch each class's LED on
 * while one of its boxes scores at least the threshold, off otherwise (the target class
 * and its LED by default). Then report the frame twice on the serial link: a RESULT frame
 * for mcugen (docs/protocol.md, "Application commands": person-led's fields, then the
 * boxes) and a text line for people:
 *
 *   mcugen: frame 12 square 0.996 led red boxes 2 [square 0.996 0.125,0.250 0.167x0.167] ... instructions 783991
 *
 * Between frames the link agent answers HELLO, so `mcugen flash` can tell which firmware
 * runs. On a board whose camera is fed by the host (emulated boards), capture blocks
 * serving the link until a whole frame has arrived (mcugen_camera_host.c).
 */
#include <string.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_app_config.h"
#include "mcugen_board.h"
#include "mcugen_camera_host.h"
#include "mcugen_model.h"
#include "mcugen_text.h"

#if !MCUGEN_MODEL_HAS_BOXES
#error "detect-led needs a model with a detection head: generate with --detect fomo|yolo|ssd"
#endif

#define MCUGEN_APP_STATUS_OK 0u
#define MCUGEN_APP_STATUS_CAMERA 1u     /* the camera failed: detail = its MCUGEN_CAMERA_ERR_* */
#define MCUGEN_APP_STATUS_PREPROCESS 2u /* the frame could not become the input: detail = the error */
#define MCUGEN_APP_STATUS_INVOKE 3u     /* the model returned an error: detail = its status */
#define MCUGEN_APP_NO_CLASS 0xFFu

/* The RESULT frame: person-led's 43 fixed bytes, output 0's raw bytes, then the boxes'
 * count (u64), how many boxes (u8) and 22 bytes a box. Both caps keep it within one frame
 * (MCUGEN_FRAME_MAX_PAYLOAD 1024): 43 + 2 + 512 + 9 + 20 * 22 = 1006. */
#define MCUGEN_APP_RESULT_FIXED 43u
#define MCUGEN_APP_RESULT_OUTPUT_MAX 512u
#define MCUGEN_APP_BOX_BYTES 22u
#define MCUGEN_APP_RESULT_BOXES_MAX 20u
#define MCUGEN_APP_BOXES (MCUGEN_MODEL_MAX_BOXES < MCUGEN_APP_RESULT_BOXES_MAX ? MCUGEN_MODEL_MAX_BOXES \
                                                                               : MCUGEN_APP_RESULT_BOXES_MAX)
#define MCUGEN_APP_RESULT_BYTES (MCUGEN_APP_RESULT_FIXED + 2u + MCUGEN_APP_RESULT_OUTPUT_MAX + 9u + \
                                 MCUGEN_APP_RESULT_BOXES_MAX * MCUGEN_APP_BOX_BYTES)

static const char *const mcugen_board_led_names[] = MCUGEN_BOARD_LED_NAMES;
static uint8_t result[MCUGEN_APP_RESULT_BYTES];
static size_t result_len;
static uint32_t frames_done;

/* What one frame came to: the steps' counts, and the boxes when the model ran. */
typedef struct {
    uint16_t frame_id;
    uint8_t status;        /* MCUGEN_APP_STATUS_* */
    int32_t detail;        /* the failing step's error code */
    unsigned target_seen;  /* MCUGEN_APP_TARGET_CLASS when one of its boxes reached the threshold */
    float target_score;    /* the best target-class box's score, 0 without one */
    uint64_t pre_count;
    uint64_t invoke_count;
    uint64_t boxes_count;  /* mcugen_model_boxes()'s cost */
    uint32_t input_crc;
    int n_boxes;
    mcugen_box_t boxes[MCUGEN_APP_BOXES];
} frame_result_t;

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

/* Each LED on while a box of a class it belongs to reaches the threshold; the target's
 * best such box goes in the result. Several classes may share an LED: it is on for any. */
static void show_boxes(frame_result_t *r)
{
    uint32_t lit = 0;
    uint32_t used = 0;
    r->target_seen = MCUGEN_APP_NO_CLASS;
    r->target_score = 0.0f;
    for (int i = 0; i < r->n_boxes; ++i) {
        const mcugen_box_t *b = &r->boxes[i];
        if (b->class_id >= MCUGEN_APP_CLASS_COUNT || !(b->score >= MCUGEN_APP_THRESHOLD)) {
            continue;
        }
        if (b->class_id == MCUGEN_APP_TARGET_CLASS && b->score > r->target_score) {
            r->target_seen = MCUGEN_APP_TARGET_CLASS;
            r->target_score = b->score;
        }
        int led = mcugen_app_led_of_class[b->class_id];
        if (led >= 0 && led < 32) {
            lit |= 1u << (unsigned)led;
        }
    }
    for (unsigned c = 0; c < MCUGEN_APP_CLASS_COUNT; ++c) {
        if (mcugen_app_led_of_class[c] >= 0 && mcugen_app_led_of_class[c] < 32) {
            used |= 1u << (unsigned)mcugen_app_led_of_class[c];
        }
    }
    for (unsigned led = 0; led < 32u; ++led) {
        if (used >> led & 1u) {
            mcugen_board_led_set(led, (int)(lit >> led & 1u));
        }
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

static void put_float(size_t *at, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    put(at, bits, 4);
}

static void text_box(mcugen_text_t *line, const mcugen_box_t *b)
{
    mcugen_text_str(line, " [");
    mcugen_text_str(line, b->class_id < MCUGEN_APP_CLASS_COUNT ? mcugen_app_labels[b->class_id] : "?");
    mcugen_text_str(line, " ");
    mcugen_text_fixed3(line, b->score);
    mcugen_text_str(line, " ");
    mcugen_text_fixed3(line, b->x);
    mcugen_text_str(line, ",");
    mcugen_text_fixed3(line, b->y);
    mcugen_text_str(line, " ");
    mcugen_text_fixed3(line, b->w);
    mcugen_text_str(line, "x");
    mcugen_text_fixed3(line, b->h);
    mcugen_text_str(line, "]");
}

static void report(const frame_result_t *r)
{
    size_t at = 0;
    put(&at, r->frame_id, 2);
    put(&at, frames_done, 4);
    put(&at, r->status, 1);
    put(&at, (uint32_t)r->detail, 4);
    put(&at, r->target_seen, 1);
    put_float(&at, r->target_score);
    put(&at, mcugen_board_led_state(), 4);
    put(&at, r->pre_count, 8);
    put(&at, r->invoke_count, 8);
    put(&at, r->input_crc, 4);
    uint32_t out_bytes = 0;
    const uint8_t *output = (const uint8_t *)mcugen_model_output(0);
    if (r->status == MCUGEN_APP_STATUS_OK && output != NULL) {
        out_bytes = mcugen_model_outputs[0].bytes;
        if (out_bytes > MCUGEN_APP_RESULT_OUTPUT_MAX) {
            out_bytes = MCUGEN_APP_RESULT_OUTPUT_MAX;
        }
    }
    put(&at, out_bytes, 2);
    for (uint32_t i = 0; i < out_bytes; ++i) {
        put(&at, output[i], 1);
    }
    put(&at, r->boxes_count, 8);
    put(&at, (uint64_t)r->n_boxes, 1);
    for (int i = 0; i < r->n_boxes; ++i) {
        const mcugen_box_t *b = &r->boxes[i];
        put(&at, b->class_id, 2);
        put_float(&at, b->score);
        put_float(&at, b->x);
        put_float(&at, b->y);
        put_float(&at, b->w);
        put_float(&at, b->h);
    }
    result_len = at;
    mcugen_agent_send_event(MCUGEN_FRAME_RESULT, result, result_len);

    /* The same for people, between frames (the host's parser skips it). */
    mcugen_text_t line;
    mcugen_text_init(&line);
    mcugen_text_str(&line, "mcugen: frame ");
    mcugen_text_u64(&line, frames_done);
    if (r->status != MCUGEN_APP_STATUS_OK) {
        mcugen_text_str(&line, r->status == MCUGEN_APP_STATUS_CAMERA ? " camera error " :
                               r->status == MCUGEN_APP_STATUS_PREPROCESS ? " pre-processing error " :
                               " model error ");
        mcugen_text_i64(&line, r->detail);
    } else {
        mcugen_text_str(&line, " ");
        mcugen_text_str(&line, mcugen_app_labels[MCUGEN_APP_TARGET_CLASS]);
        mcugen_text_str(&line, r->target_seen == MCUGEN_APP_NO_CLASS ? " not seen" : " ");
        if (r->target_seen != MCUGEN_APP_NO_CLASS) {
            mcugen_text_fixed3(&line, r->target_score);
        }
        int led = mcugen_app_led_of_class[MCUGEN_APP_TARGET_CLASS];
        mcugen_text_str(&line, " led ");
        mcugen_text_str(&line, led < 0 ? "none" : (mcugen_board_led_state() >> (unsigned)led & 1u) ?
                                                  mcugen_board_led_names[led] : "off");
        mcugen_text_str(&line, " boxes ");
        mcugen_text_u64(&line, (uint64_t)r->n_boxes);
        for (int i = 0; i < r->n_boxes; ++i) {
            text_box(&line, &r->boxes[i]);
        }
        mcugen_text_str(&line, MCUGEN_BOARD_COUNTER_KIND == MCUGEN_COUNTER_CYCLES ? " cycles " : " instructions ");
        mcugen_text_u64(&line, r->invoke_count);
        mcugen_text_str(&line, " (pre ");
        mcugen_text_u64(&line, r->pre_count);
        mcugen_text_str(&line, ", boxes ");
        mcugen_text_u64(&line, r->boxes_count);
        mcugen_text_str(&line, ")");
    }
    mcugen_text_str(&line, "\r\n");
    mcugen_text_flush(&line);
}

void mcugen_app_run(void)
{
    static frame_result_t r;
    mcugen_board_init();
    mcugen_agent_set_handler(handle_request);
    mcugen_agent_start();
    int err = mcugen_board_camera_start();
    if (err != 0) {
        /* Say so once, then keep answering the link (HELLO still identifies the firmware). */
        memset(&r, 0, sizeof r);
        r.status = MCUGEN_APP_STATUS_CAMERA;
        r.detail = err;
        r.target_seen = MCUGEN_APP_NO_CLASS;
        report(&r);
        for (;;) {
            mcugen_agent_feed(mcugen_board_read_byte());
        }
    }
    for (;;) {
        mcugen_camera_frame_t frame;
        (void)mcugen_agent_poll(); /* requests that arrived while the last frame ran */
        err = mcugen_board_camera_capture(&frame);
        ++frames_done;
        memset(&r, 0, sizeof r);
        r.target_seen = MCUGEN_APP_NO_CLASS;
        r.frame_id = (uint16_t)frames_done;
#if MCUGEN_BOARD_CAMERA_HOST_FED
        r.frame_id = mcugen_camera_host_frame_id();
#endif
        if (err != 0) {
            r.status = MCUGEN_APP_STATUS_CAMERA;
            r.detail = err;
            report(&r);
            continue;
        }
        void *input = mcugen_model_input(0);
        uint64_t t0 = mcugen_board_counter();
        err = mcugen_preprocess(&frame, &mcugen_app_preprocess, input, mcugen_model_inputs[0].bytes);
        uint64_t t1 = mcugen_board_counter();
        r.pre_count = t1 - t0;
        if (err != 0) {
            r.status = MCUGEN_APP_STATUS_PREPROCESS;
            r.detail = err;
            report(&r);
            continue;
        }
        /* The input's CRC before invoking: the model may reuse the input's arena bytes. */
        r.input_crc = mcugen_crc32(0, (const uint8_t *)input, mcugen_model_inputs[0].bytes);
        uint64_t t2 = mcugen_board_counter();
        int status = mcugen_model_invoke();
        uint64_t t3 = mcugen_board_counter();
        r.invoke_count = t3 - t2;
        if (status != 0) {
            r.status = MCUGEN_APP_STATUS_INVOKE;
            r.detail = status;
            report(&r);
            continue;
        }
        r.n_boxes = mcugen_model_boxes(r.boxes, MCUGEN_APP_BOXES);
        r.boxes_count = mcugen_board_counter() - t3;
        show_boxes(&r);
        report(&r);
    }
}
