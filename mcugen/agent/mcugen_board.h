/* What the benchmark agent needs from a board: the whole board API.
 *
 * A board port (templates/ports/<port>/) implements these few functions; the
 * agent and the model are the same portable C on every board. Board facts
 * (id, clock, counter kind) come from the generated mcugen_board_config.h.
 */
#ifndef MCUGEN_BOARD_H
#define MCUGEN_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "mcugen_board_config.h" /* MCUGEN_BOARD_ID, MCUGEN_BOARD_CLOCK_HZ, MCUGEN_BOARD_COUNTER_KIND */

#define MCUGEN_COUNTER_CYCLES 0       /* DWT->CYCCNT on real Cortex-M silicon */
#define MCUGEN_COUNTER_INSTRUCTIONS 1 /* SysTick under QEMU -icount: instructions, not cycles */

/* Clocks, the serial link and the counter; called once before anything else. */
void mcugen_board_init(void);

/* Blocks until one byte arrives on the serial link and returns it (0..255). */
uint8_t mcugen_board_read_byte(void);

/* Sends bytes on the serial link, blocking until each is accepted. */
void mcugen_board_write(const uint8_t *data, size_t length);

/* A free-running 64-bit count (cycles or instructions, see MCUGEN_BOARD_COUNTER_KIND). */
uint64_t mcugen_board_counter(void);

#endif /* MCUGEN_BOARD_H */
