/* A camera app's frame, taken and reported (mcugen_app_result.h). */
#include "mcugen_app_result.h"

#include <string.h>

#include "mcugen_agent.h"
#include "mcugen_board.h"
#include "mcugen_camera_host.h"
#include "mcugen_model.h"

uint8_t mcugen_app_take_frame(mcugen_app_frame_fields_t *fields, uint32_t frames_done,
                              const mcugen_preprocess_params_t *params)
{
    mcugen_camera_frame_t frame;
    memset(fields, 0, sizeof *fields);
    fields->frames_done = frames_done;
    fields->class_index = MCUGEN_APP_NO_CLASS;
    int err = mcugen_board_camera_capture(&frame);
    fields->frame_id = (uint16_t)frames_done;
#if MCUGEN_BOARD_CAMERA_HOST_FED
    fields->frame_id = mcugen_camera_host_frame_id(); /* the host's id for the frame it sent */
#endif
    if (err != 0) {
        fields->status = MCUGEN_APP_STATUS_CAMERA;
        fields->detail = err;
        return fields->status;
    }
    void *input = mcugen_model_input(0);
    uint64_t t0 = mcugen_board_counter();
    err = mcugen_preprocess(&frame, params, input, mcugen_model_inputs[0].bytes);
    fields->pre_count = mcugen_board_counter() - t0;
    if (err != 0) {
        fields->status = MCUGEN_APP_STATUS_PREPROCESS;
        fields->detail = err;
        return fields->status;
    }
    /* The input's CRC before invoking: the model may reuse the input's arena bytes. */
    fields->input_crc = mcugen_crc32(0, (const uint8_t *)input, mcugen_model_inputs[0].bytes);
    uint64_t t1 = mcugen_board_counter();
    int status = mcugen_model_invoke();
    fields->invoke_count = mcugen_board_counter() - t1;
    if (status != 0) {
        fields->status = MCUGEN_APP_STATUS_INVOKE;
        fields->detail = status;
    }
    return fields->status;
}

void mcugen_app_result_put(mcugen_app_result_t *r, uint64_t value, unsigned bytes)
{
    if (r->length + bytes <= r->capacity) {
        mcugen_le_put(r->bytes + r->length, value, bytes);
        r->length += bytes;
    }
}

void mcugen_app_result_put_float(mcugen_app_result_t *r, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    mcugen_app_result_put(r, bits, 4);
}

void mcugen_app_result_begin(mcugen_app_result_t *r, const mcugen_app_frame_fields_t *fields)
{
    r->length = 0;
    mcugen_app_result_put(r, fields->frame_id, 2);
    mcugen_app_result_put(r, fields->frames_done, 4);
    mcugen_app_result_put(r, fields->status, 1);
    mcugen_app_result_put(r, (uint32_t)fields->detail, 4);
    mcugen_app_result_put(r, fields->class_index, 1);
    mcugen_app_result_put_float(r, fields->score);
    mcugen_app_result_put(r, mcugen_board_led_state(), 4);
    mcugen_app_result_put(r, fields->pre_count, 8);
    mcugen_app_result_put(r, fields->invoke_count, 8);
    mcugen_app_result_put(r, fields->input_crc, 4);
}

void mcugen_app_result_put_output(mcugen_app_result_t *r, uint8_t status, uint32_t max_bytes)
{
    uint32_t out_bytes = 0;
    const uint8_t *output = (const uint8_t *)mcugen_model_output(0);
    if (status == MCUGEN_APP_STATUS_OK && output != NULL) {
        out_bytes = mcugen_model_outputs[0].bytes;
        if (out_bytes > max_bytes) {
            out_bytes = max_bytes;
        }
    }
    mcugen_app_result_put(r, out_bytes, 2);
    for (uint32_t i = 0; i < out_bytes; ++i) {
        mcugen_app_result_put(r, output[i], 1);
    }
}

void mcugen_app_result_send(const mcugen_app_result_t *r)
{
    mcugen_agent_send_event(MCUGEN_FRAME_RESULT, r->bytes, r->length);
}

int mcugen_app_result_serve(const mcugen_frame_t *f, const mcugen_app_result_t *r)
{
    if (f->type != MCUGEN_CMD_GET_RESULT) {
        return 0;
    }
    if (f->length != 0) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_BAD_LENGTH, "bad length");
    } else if (r->length == 0) {
        mcugen_agent_error(f->seq, MCUGEN_ERR_NOT_READY, "no result yet");
    } else {
        mcugen_agent_reply(MCUGEN_CMD_GET_RESULT, f->seq, r->bytes, r->length);
    }
    return 1;
}

int mcugen_app_text_frame(mcugen_text_t *line, const mcugen_app_frame_fields_t *fields)
{
    mcugen_text_str(line, "mcugen: frame ");
    mcugen_text_u64(line, fields->frames_done);
    if (fields->status == MCUGEN_APP_STATUS_OK) {
        return 1;
    }
    mcugen_text_str(line, fields->status == MCUGEN_APP_STATUS_CAMERA ? " camera error " :
                          fields->status == MCUGEN_APP_STATUS_PREPROCESS ? " pre-processing error " :
                          " model error ");
    mcugen_text_i64(line, fields->detail);
    return 0;
}
