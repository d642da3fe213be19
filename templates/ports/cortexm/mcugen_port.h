/* What the shared Cortex-M layer (startup, faults, counter, board API) needs from
 * a SoC port (templates/ports/<port>/mcugen_soc.c). A new SoC implements these
 * three functions and names its interrupt count in its mcugen_soc.h.
 */
#ifndef MCUGEN_PORT_H
#define MCUGEN_PORT_H

#include <stdint.h>

#include "mcugen_soc.h" /* MCUGEN_SOC_IRQ_COUNT */

/* Clocks, pins and the serial link. Safe to call again (the fault handler does,
 * in case a fault came before mcugen_board_init). */
void mcugen_soc_init(void);

/* Blocking byte I/O on the serial link. */
void mcugen_soc_uart_write_byte(uint8_t byte);
uint8_t mcugen_soc_uart_read_byte(void);

#endif /* MCUGEN_PORT_H */
