/* MPS2 port: the serial link on CMSDK UART0. */
#include "mcugen_board.h"
#include "mcugen_port.h"

void mcugen_soc_init(void)
{
    /* The UART runs on the 25 MHz peripheral clock; the divider must be at least
     * 16 or the UART does not transmit. QEMU does not emulate the baud rate, a
     * real MPS2 board does. */
    uint32_t divider = MCUGEN_BOARD_CLOCK_HZ / MCUGEN_BOARD_UART_BAUD;
    MCUGEN_UART0->BAUDDIV = divider < 16u ? 16u : divider;
    MCUGEN_UART0->STATE = MCUGEN_UART_STATE_OVERRUNS; /* clear stale overrun flags */
    MCUGEN_UART0->CTRL = MCUGEN_UART_CTRL_TX_EN | MCUGEN_UART_CTRL_RX_EN;
}

void mcugen_soc_uart_write_byte(uint8_t byte)
{
    /* Writing DATA while the one-byte TX buffer is full overwrites the byte waiting there. */
    while (MCUGEN_UART0->STATE & MCUGEN_UART_STATE_TX_FULL) {
    }
    MCUGEN_UART0->DATA = byte;
}

uint8_t mcugen_soc_uart_read_byte(void)
{
    while (!(MCUGEN_UART0->STATE & MCUGEN_UART_STATE_RX_FULL)) {
    }
    return (uint8_t)MCUGEN_UART0->DATA;
}

int mcugen_soc_uart_poll_byte(uint8_t *byte)
{
    if (!(MCUGEN_UART0->STATE & MCUGEN_UART_STATE_RX_FULL)) {
        return 0;
    }
    *byte = (uint8_t)MCUGEN_UART0->DATA;
    return 1;
}

/* The emulated board has no LEDs to drive: their state lives in the shared layer,
 * and applications report it over the serial link. */
void mcugen_soc_led_write(unsigned index, int on)
{
    (void)index;
    (void)on;
}
