/* A camera fed by the host over the serial link, for boards without a sensor (the
 * emulated ones): `mcugen feed` sends each frame in FRAME requests (docs/protocol.md,
 * "Application commands"), and mcugen_board_camera_capture returns it once whole.
 *
 * An application whose board is host-fed gives every request to
 * mcugen_camera_host_handle first (from its agent handler).
 */
#ifndef MCUGEN_CAMERA_HOST_H
#define MCUGEN_CAMERA_HOST_H

#include <stdint.h>

#include "mcugen_board.h"
#include "mcugen_frame.h"

#if MCUGEN_BOARD_CAMERA_HOST_FED
/* 1 if the request was a FRAME (and has been answered), else 0. */
int mcugen_camera_host_handle(const mcugen_frame_t *frame);

/* The host's id of the frame the last capture returned. */
uint16_t mcugen_camera_host_frame_id(void);
#endif

#endif /* MCUGEN_CAMERA_HOST_H */
