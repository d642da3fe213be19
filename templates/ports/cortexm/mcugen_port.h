/* What the shared Cortex-M layer (startup, faults, counter, board API) needs from
 * a SoC port (templates/ports/<port>/mcugen_soc.c and friends). A new SoC
 * implements these functions and names its interrupt count in its mcugen_soc.h.
 */
#ifndef MCUGEN_PORT_H
#define MCUGEN_PORT_H

#include <stdint.h>

#include "mcugen_board.h"
#include "mcugen_soc.h" /* MCUGEN_SOC_IRQ_COUNT */

/* Clocks, pins and the serial link. Safe to call again (the fault handler does,
 * in case a fault came before mcugen_board_init). */
void mcugen_soc_init(void);

/* Byte I/O on the serial link: blocking write and read, and a read that does not block
 * (1 and *byte set when a byte had arrived). */
void mcugen_soc_uart_write_byte(uint8_t byte);
uint8_t mcugen_soc_uart_read_byte(void);
int mcugen_soc_uart_poll_byte(uint8_t *byte);

/* Drives physical LED `index` (board file order); the shared layer keeps the state.
 * A SoC without LEDs does nothing. */
void mcugen_soc_led_write(unsigned index, int on);

#if defined(MCUGEN_BOARD_HAS_CAMERA) && MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED
/* A sensor on the board: the SoC port drives it (see mcugen_board.h for the contract). */
int mcugen_soc_camera_start(void);
int mcugen_soc_camera_capture(mcugen_camera_frame_t *frame);
#endif

#endif /* MCUGEN_PORT_H */
