/* STM32F4 port: the serial link on USART1 (PA9 TX, PA10 RX).
 *
 * Clocks: this port leaves the clock tree as it finds it. Under QEMU, which has
 * no RCC model, the core runs at the board file's clock from reset (168 MHz) and
 * RCC reads as 0, so waiting for a PLL-ready flag would never end. On real
 * silicon the core would come up on the 16 MHz HSI instead, and a port for a real
 * F4 board must first set up the PLL (and flash wait states) for MCUGEN_BOARD_CLOCK_HZ.
 */
#include "mcugen_board.h"
#include "mcugen_port.h"

/* USART1 sits on APB2, which runs at half the core clock at 168 MHz (APB2 at most 84 MHz). */
#define MCUGEN_APB2_HZ (MCUGEN_BOARD_CLOCK_HZ / 2u)

void mcugen_soc_init(void)
{
    /* Peripherals get no clock until enabled in RCC; on real silicon their
     * registers ignore writes until then (QEMU does not care). */
    MCUGEN_RCC->AHB1ENR |= MCUGEN_RCC_AHB1ENR_GPIOAEN;
    MCUGEN_RCC->APB2ENR |= MCUGEN_RCC_APB2ENR_USART1EN;
    /* RM0090 errata 2.1.13: the first access after enabling a clock must wait two
     * cycles; reading the enable register back is that wait. */
    (void)MCUGEN_RCC->APB2ENR;

    /* PA9 and PA10 to alternate function 7 (USART1), RX pulled up so a floating
     * line does not read as a start bit. */
    MCUGEN_GPIOA->AFR[1] = (MCUGEN_GPIOA->AFR[1] & ~((0xFu << 4) | (0xFu << 8))) | (7u << 4) | (7u << 8);
    MCUGEN_GPIOA->PUPDR = (MCUGEN_GPIOA->PUPDR & ~(3u << 20)) | (1u << 20);
    MCUGEN_GPIOA->MODER = (MCUGEN_GPIOA->MODER & ~((3u << 18) | (3u << 20))) | (2u << 18) | (2u << 20);

    /* 8N1 at the board's baud rate (not emulated by QEMU), 16x oversampling:
     * BRR = f_pclk / baud, rounded. */
    MCUGEN_USART1->CR1 = 0;
    MCUGEN_USART1->BRR = (MCUGEN_APB2_HZ + MCUGEN_BOARD_UART_BAUD / 2u) / MCUGEN_BOARD_UART_BAUD;
    MCUGEN_USART1->CR2 = 0;
    MCUGEN_USART1->CR3 = 0;
    /* Bytes that arrive before UE and RE are set are dropped: the host waits for
     * the BOOT frame before sending anything. */
    MCUGEN_USART1->CR1 = MCUGEN_USART_CR1_UE | MCUGEN_USART_CR1_TE | MCUGEN_USART_CR1_RE;
}

void mcugen_soc_uart_write_byte(uint8_t byte)
{
    while (!(MCUGEN_USART1->SR & MCUGEN_USART_SR_TXE)) {
    }
    MCUGEN_USART1->DR = byte;
}

uint8_t mcugen_soc_uart_read_byte(void)
{
    /* Reading SR then DR also clears an overrun (ORE), which would otherwise stop
     * reception on real silicon. */
    while (!(MCUGEN_USART1->SR & (MCUGEN_USART_SR_RXNE | MCUGEN_USART_SR_ORE))) {
    }
    return (uint8_t)MCUGEN_USART1->DR;
}

int mcugen_soc_uart_poll_byte(uint8_t *byte)
{
    if (!(MCUGEN_USART1->SR & (MCUGEN_USART_SR_RXNE | MCUGEN_USART_SR_ORE))) {
        return 0;
    }
    *byte = (uint8_t)MCUGEN_USART1->DR;
    return 1;
}

/* QEMU's netduinoplus2 has no LEDs mcugen drives: their state lives in the shared
 * layer, and applications report it over the serial link. */
void mcugen_soc_led_write(unsigned index, int on)
{
    (void)index;
    (void)on;
}
