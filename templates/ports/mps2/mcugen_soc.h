/* Arm MPS2 with the AN500 (Cortex-M7) or AN386 (Cortex-M4) FPGA image, as QEMU
 * models it (-M mps2-an500): code SSRAM at 0, data SSRAM at 0x20000000, a CMSDK
 * APB UART0 at 0x40004000 for the serial link. The FPGA's clock is fixed
 * (25 MHz), so there is no clock tree to set up.
 *
 * Sources: Arm AN500 (DAI 0500) memory map; Arm Cortex-M System Design Kit
 * Technical Reference Manual (DDI 0479), APB UART; QEMU hw/arm/mps2.c.
 */
#ifndef MCUGEN_SOC_H
#define MCUGEN_SOC_H

#include <stdint.h>

/* Device interrupts in the vector table: QEMU's mps2 boards wire 32 to the NVIC. */
#define MCUGEN_SOC_IRQ_COUNT 32

/* CMSDK APB UART. */
typedef struct {
    volatile uint32_t DATA;      /* 0x00 received byte / byte to send */
    volatile uint32_t STATE;     /* 0x04 bit0 TX buffer full, bit1 RX buffer full, bits 2/3 overruns (write 1 clears) */
    volatile uint32_t CTRL;      /* 0x08 bit0 TX enable, bit1 RX enable */
    volatile uint32_t INTSTATUS; /* 0x0C interrupt status / clear */
    volatile uint32_t BAUDDIV;   /* 0x10 PCLK / baud, at least 16 */
} mcugen_cmsdk_uart_t;

#define MCUGEN_UART0 ((mcugen_cmsdk_uart_t *)0x40004000u)

#define MCUGEN_UART_STATE_TX_FULL (1u << 0)
#define MCUGEN_UART_STATE_RX_FULL (1u << 1)
#define MCUGEN_UART_STATE_OVERRUNS (3u << 2)
#define MCUGEN_UART_CTRL_TX_EN (1u << 0)
#define MCUGEN_UART_CTRL_RX_EN (1u << 1)

#endif /* MCUGEN_SOC_H */
