/* What mcugen's applications need from a board: the whole board API.
 *
 * A board port implements these functions; the applications (templates/apps/)
 * and the model are the same portable C on every board. Board facts (id, clock,
 * counter kind, LEDs, camera) come from the generated mcugen_board_config.h.
 *
 * Cortex-M boards implement it in templates/ports/cortexm/mcugen_board.c over a
 * SoC port (mcugen_port.h); ESP32 boards in templates/ports/esp32/; the host in
 * templates/ports/host/.
 */
#ifndef MCUGEN_BOARD_H
#define MCUGEN_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "mcugen_board_config.h" /* MCUGEN_BOARD_ID, _CLOCK_HZ, _COUNTER_KIND, _LED_*, _CAMERA_* */

#define MCUGEN_COUNTER_CYCLES 0       /* DWT->CYCCNT on real Cortex-M silicon */
#define MCUGEN_COUNTER_INSTRUCTIONS 1 /* SysTick under QEMU -icount: instructions, not cycles */

/* ---- core: every board ---- */

/* Clocks, the serial link, the counter, LEDs off; called once before anything else. */
void mcugen_board_init(void);

/* Blocks until one byte arrives on the serial link and returns it (0..255). */
uint8_t mcugen_board_read_byte(void);

/* Does not block: 1 and *byte set if a byte had arrived, else 0. */
int mcugen_board_poll_byte(uint8_t *byte);

/* Sends bytes on the serial link, blocking until each is accepted. */
void mcugen_board_write(const uint8_t *data, size_t length);

/* A free-running 64-bit count (cycles or instructions, see MCUGEN_BOARD_COUNTER_KIND). */
uint64_t mcugen_board_counter(void);

/* ---- LEDs: MCUGEN_BOARD_LED_COUNT of them, indexed as in the board file's [[leds]]
 * (MCUGEN_BOARD_LED_<NAME> names each index). A board without physical LEDs (an
 * emulated one) still keeps their state, so applications can report it. ---- */

void mcugen_board_led_set(unsigned index, int on);

/* Bit i set: LED i is on (as last set). */
uint32_t mcugen_board_led_state(void);

/* ---- camera: boards whose config defines MCUGEN_BOARD_HAS_CAMERA 1 ---- */

/* Pixel formats of a camera frame, as bytes in memory. */
#define MCUGEN_PIXEL_GRAY8 1u  /* one byte per pixel */
#define MCUGEN_PIXEL_RGB565 2u /* two bytes per pixel, big-endian: RRRRRGGG GGGBBBBB (as sensors send it) */
#define MCUGEN_PIXEL_RGB888 3u /* three bytes per pixel: R, G, B */
#define MCUGEN_PIXEL_YUV422 4u /* two bytes per pixel, Y0 U Y1 V (YUYV) */
#define MCUGEN_PIXEL_TENSOR 0x80u /* host-fed only: the model's input tensor itself, no pre-processing */

typedef struct {
    const uint8_t *data; /* valid until the next capture */
    uint32_t bytes;
    uint16_t width;
    uint16_t height;
    uint8_t format; /* MCUGEN_PIXEL_* */
} mcugen_camera_frame_t;

/* Powers and configures the sensor for MCUGEN_CAMERA_WIDTH x MCUGEN_CAMERA_HEIGHT in
 * MCUGEN_CAMERA_FORMAT (mcugen_board_config.h). 0 on success, a negative
 * MCUGEN_CAMERA_ERR_* otherwise. */
int mcugen_board_camera_start(void);

/* Blocks until the next whole frame is in memory (caches maintained) and describes it.
 * 0 on success, a negative MCUGEN_CAMERA_ERR_* otherwise. */
int mcugen_board_camera_capture(mcugen_camera_frame_t *frame);

#define MCUGEN_CAMERA_ERR_NO_SENSOR (-1) /* nothing answered on the sensor bus, or a wrong chip id */
#define MCUGEN_CAMERA_ERR_TIMEOUT (-2)   /* no frame within the driver's timeout */
#define MCUGEN_CAMERA_ERR_FORMAT (-3)    /* the sensor cannot give this size or format */

#endif /* MCUGEN_BOARD_H */
