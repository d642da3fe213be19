/* The board API (mcugen_board.h) on any Cortex-M: the SoC port brings the serial
 * link, the shared layer the counter. */
#include "mcugen_board.h"

#include "mcugen_cortexm.h"
#include "mcugen_port.h"

void mcugen_board_init(void)
{
    mcugen_soc_init();
    mcugen_counter_init();
}

uint8_t mcugen_board_read_byte(void)
{
    return mcugen_soc_uart_read_byte();
}

void mcugen_board_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        mcugen_soc_uart_write_byte(data[i]);
    }
}

uint64_t mcugen_board_counter(void)
{
    return mcugen_counter_read();
}
