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
#include "mcugen_app_result.h"
#include "mcugen_board.h"
#include "mcugen_camera_host.h"
#include "mcugen_model.h"
#include "mcugen_text.h"

/* Raw output bytes carried in a RESULT (the whole output of a classifier). */
#define MCUGEN_APP_RESULT_OUTPUT_MAX 512u

static const char *const mcugen_board_led_names[] = MCUGEN_BOARD_LED_NAMES;
static uint8_t result_bytes[48 + MCUGEN_APP_RESULT_OUTPUT_MAX];
static mcugen_app_result_t result = {result_bytes, sizeof result_bytes, 0};
static uint32_t frames_done;

static int handle_request(const mcugen_frame_t *f)
{
#if MCUGEN_BOARD_CAMERA_HOST_FED
    if (mcugen_camera_host_handle(f)) {
        return 1;
    }
#endif
    return mcugen_app_result_serve(f, &result);
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

/* RESULT payload (docs/protocol.md): the shared fields, then output 0's raw bytes. */
static void report(const mcugen_app_frame_fields_t *fields)
{
    mcugen_app_result_begin(&result, fields);
    mcugen_app_result_put_output(&result, fields->status, MCUGEN_APP_RESULT_OUTPUT_MAX);
    mcugen_app_result_send(&result);

    /* The same for people, between frames (the host's parser skips it). */
    mcugen_text_t line;
    mcugen_text_init(&line);
    if (mcugen_app_text_frame(&line, fields)) {
        unsigned cls = fields->class_index;
        mcugen_text_str(&line, " ");
        mcugen_text_str(&line, cls < MCUGEN_APP_CLASS_COUNT ? mcugen_app_labels[cls] : "none");
        mcugen_text_str(&line, " ");
        mcugen_text_fixed3(&line, fields->score);
        mcugen_text_str(&line, " led ");
        int led = cls < MCUGEN_APP_CLASS_COUNT ? mcugen_app_led_of_class[cls] : -1;
        mcugen_text_str(&line, led >= 0 ? mcugen_board_led_names[led] : "off");
        mcugen_text_str(&line, MCUGEN_BOARD_COUNTER_KIND == MCUGEN_COUNTER_CYCLES ? " cycles " : " instructions ");
        mcugen_text_u64(&line, fields->invoke_count);
        mcugen_text_str(&line, " (pre ");
        mcugen_text_u64(&line, fields->pre_count);
        mcugen_text_str(&line, ")");
    }
    mcugen_text_str(&line, "\r\n");
    mcugen_text_flush(&line);
}

void mcugen_app_run(void)
{
    mcugen_app_frame_fields_t fields;
    mcugen_board_init();
    mcugen_agent_set_handler(handle_request);
    mcugen_agent_start();
    int err = mcugen_board_camera_start();
    if (err != 0) {
        /* Say so once, then keep answering the link (HELLO still identifies the firmware). */
        memset(&fields, 0, sizeof fields);
        fields.status = MCUGEN_APP_STATUS_CAMERA;
        fields.detail = err;
        fields.class_index = MCUGEN_APP_NO_CLASS;
        report(&fields);
        for (;;) {
            mcugen_agent_feed(mcugen_board_read_byte());
        }
    }
    for (;;) {
        (void)mcugen_agent_poll(); /* requests that arrived while the last frame ran */
        ++frames_done;
        if (mcugen_app_take_frame(&fields, frames_done, &mcugen_app_preprocess) == MCUGEN_APP_STATUS_OK) {
            float score = 0.0f;
            unsigned cls = decide(mcugen_model_output(0), &score);
            show_class(cls);
            fields.class_index = (uint8_t)cls;
            fields.score = score;
        }
        report(&fields);
    }
}
