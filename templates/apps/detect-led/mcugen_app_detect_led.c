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
#include "mcugen_app_result.h"
#include "mcugen_board.h"
#include "mcugen_camera_host.h"
#include "mcugen_model.h"
#include "mcugen_text.h"

#if !MCUGEN_MODEL_HAS_BOXES
#error "detect-led needs a model with a detection head: generate with --detect fomo|yolo|ssd"
#endif

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
static uint8_t result_bytes[MCUGEN_APP_RESULT_BYTES];
static mcugen_app_result_t result = {result_bytes, sizeof result_bytes, 0};
static uint32_t frames_done;

/* What one frame came to: the shared fields (class_index is MCUGEN_APP_TARGET_CLASS when
 * one of its boxes reached the threshold, score that box's), and the boxes when the model ran. */
typedef struct {
    mcugen_app_frame_fields_t fields;
    uint64_t boxes_count;  /* mcugen_model_boxes()'s cost */
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
    return mcugen_app_result_serve(f, &result);
}

/* Each LED on while a box of a class it belongs to reaches the threshold; the target's
 * best such box goes in the result. Several classes may share an LED: it is on for any. */
static void show_boxes(frame_result_t *r)
{
    uint32_t lit = 0;
    uint32_t used = 0;
    r->fields.class_index = MCUGEN_APP_NO_CLASS;
    r->fields.score = 0.0f;
    for (int i = 0; i < r->n_boxes; ++i) {
        const mcugen_box_t *b = &r->boxes[i];
        if (b->class_id >= MCUGEN_APP_CLASS_COUNT || !(b->score >= MCUGEN_APP_THRESHOLD)) {
            continue;
        }
        if (b->class_id == MCUGEN_APP_TARGET_CLASS && b->score > r->fields.score) {
            r->fields.class_index = MCUGEN_APP_TARGET_CLASS;
            r->fields.score = b->score;
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

/* RESULT payload (docs/protocol.md): the shared fields, output 0's raw bytes, then the boxes. */
static void report(const frame_result_t *r)
{
    mcugen_app_result_begin(&result, &r->fields);
    mcugen_app_result_put_output(&result, r->fields.status, MCUGEN_APP_RESULT_OUTPUT_MAX);
    mcugen_app_result_put(&result, r->boxes_count, 8);
    mcugen_app_result_put(&result, (uint64_t)r->n_boxes, 1);
    for (int i = 0; i < r->n_boxes; ++i) {
        const mcugen_box_t *b = &r->boxes[i];
        mcugen_app_result_put(&result, b->class_id, 2);
        mcugen_app_result_put_float(&result, b->score);
        mcugen_app_result_put_float(&result, b->x);
        mcugen_app_result_put_float(&result, b->y);
        mcugen_app_result_put_float(&result, b->w);
        mcugen_app_result_put_float(&result, b->h);
    }
    mcugen_app_result_send(&result);

    /* The same for people, between frames (the host's parser skips it). */
    mcugen_text_t line;
    mcugen_text_init(&line);
    if (mcugen_app_text_frame(&line, &r->fields)) {
        mcugen_text_str(&line, " ");
        mcugen_text_str(&line, mcugen_app_labels[MCUGEN_APP_TARGET_CLASS]);
        mcugen_text_str(&line, r->fields.class_index == MCUGEN_APP_NO_CLASS ? " not seen" : " ");
        if (r->fields.class_index != MCUGEN_APP_NO_CLASS) {
            mcugen_text_fixed3(&line, r->fields.score);
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
        mcugen_text_u64(&line, r->fields.invoke_count);
        mcugen_text_str(&line, " (pre ");
        mcugen_text_u64(&line, r->fields.pre_count);
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
        r.fields.status = MCUGEN_APP_STATUS_CAMERA;
        r.fields.detail = err;
        r.fields.class_index = MCUGEN_APP_NO_CLASS;
        report(&r);
        for (;;) {
            mcugen_agent_feed(mcugen_board_read_byte());
        }
    }
    for (;;) {
        (void)mcugen_agent_poll(); /* requests that arrived while the last frame ran */
        ++frames_done;
        memset(&r, 0, sizeof r);
        if (mcugen_app_take_frame(&r.fields, frames_done, &mcugen_app_preprocess) == MCUGEN_APP_STATUS_OK) {
            uint64_t t0 = mcugen_board_counter();
            r.n_boxes = mcugen_model_boxes(r.boxes, MCUGEN_APP_BOXES);
            r.boxes_count = mcugen_board_counter() - t0;
            show_boxes(&r);
        }
        report(&r);
    }
}
