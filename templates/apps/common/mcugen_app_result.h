/* A camera app's frame, taken and reported: the steps every camera app runs on a frame
 * (capture, pre-processing into the model's input, its CRC, invoke) and the RESULT frame
 * (docs/protocol.md, "Application commands") with what every camera app reports first,
 * the payload kept for GET_RESULT and sent as an event, and the start of the text line
 * for people. person-led and detect-led add their decision and their own fields. */
#ifndef MCUGEN_APP_RESULT_H
#define MCUGEN_APP_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "mcugen_frame.h"
#include "mcugen_preprocess.h"
#include "mcugen_text.h"

#define MCUGEN_APP_STATUS_OK 0u
#define MCUGEN_APP_STATUS_CAMERA 1u     /* the camera failed: detail = its MCUGEN_CAMERA_ERR_* */
#define MCUGEN_APP_STATUS_PREPROCESS 2u /* the frame could not become the input: detail = the error */
#define MCUGEN_APP_STATUS_INVOKE 3u     /* the model returned an error: detail = its status */
#define MCUGEN_APP_NO_CLASS 0xFFu

/* The fixed fields at the start of every RESULT, in wire order (43 bytes with the LEDs). */
typedef struct {
    uint16_t frame_id;     /* the host's frame id on a host-fed camera, else the frame count */
    uint32_t frames_done;  /* frames taken since boot */
    uint8_t status;        /* MCUGEN_APP_STATUS_* */
    int32_t detail;        /* the failing step's error code */
    uint8_t class_index;   /* the decided class, MCUGEN_APP_NO_CLASS for none */
    float score;           /* its score */
    uint64_t pre_count;    /* pre-processing, in counter units */
    uint64_t invoke_count; /* the model */
    uint32_t input_crc;    /* CRC-32 of the input tensor before invoking */
} mcugen_app_frame_fields_t;

/* Captures a frame and, if that worked, pre-processes it into input 0 with params, takes
 * the input's CRC and invokes the model: fills every field but class_index and score
 * (MCUGEN_APP_NO_CLASS and 0) and returns the status. frames_done counts this frame. */
uint8_t mcugen_app_take_frame(mcugen_app_frame_fields_t *fields, uint32_t frames_done,
                              const mcugen_preprocess_params_t *params);

/* A RESULT payload being written into a caller's buffer; writes past the end are dropped. */
typedef struct {
    uint8_t *bytes;
    size_t capacity;
    size_t length;
} mcugen_app_result_t;

/* Starts the payload again with the fixed fields and the board's LED state. */
void mcugen_app_result_begin(mcugen_app_result_t *r, const mcugen_app_frame_fields_t *fields);
void mcugen_app_result_put(mcugen_app_result_t *r, uint64_t value, unsigned bytes); /* little-endian */
void mcugen_app_result_put_float(mcugen_app_result_t *r, float value);             /* its bits, as u32 */
/* Output 0's raw bytes after a u16 count: all of them (at most max_bytes) when the frame
 * ran the model (status OK), none otherwise. */
void mcugen_app_result_put_output(mcugen_app_result_t *r, uint8_t status, uint32_t max_bytes);
void mcugen_app_result_send(const mcugen_app_result_t *r); /* as a RESULT event */
/* GET_RESULT: answers with the last payload (or NOT_READY before the first); 1 if f was one. */
int mcugen_app_result_serve(const mcugen_frame_t *f, const mcugen_app_result_t *r);

/* "mcugen: frame N" and, for a failed frame, which step failed and its code; returns 1 when
 * the frame ran (status OK) and the app's own words should follow. */
int mcugen_app_text_frame(mcugen_text_t *line, const mcugen_app_frame_fields_t *fields);

#endif /* MCUGEN_APP_RESULT_H */
