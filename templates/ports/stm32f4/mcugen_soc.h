/* STM32F4 (F405/F407 class) as QEMU's netduinoplus2 machine models it: flash at
 * 0x08000000 (aliased at 0, where the core boots), SRAM at 0x20000000, USART1 at
 * 0x40011000 for the serial link (QEMU's serial0).
 *
 * Sources: ST RM0090 (STM32F405/407 reference manual) sections 6 (RCC), 8 (GPIO)
 * and 30 (USART); ST DS8626 (pinout: USART1 TX PA9, RX PA10, alternate function 7);
 * QEMU hw/arm/stm32f405_soc.c.
 */
#ifndef MCUGEN_SOC_H
#define MCUGEN_SOC_H

#include <stddef.h>
#include <stdint.h>

/* Device interrupts in the vector table: STM32F405/407 have 82 (WWDG .. FPU). */
#define MCUGEN_SOC_IRQ_COUNT 82

/* Reset and clock control, 0x40023800 (only the clock-enable registers are named). */
typedef struct {
    volatile uint32_t CR;        /* 0x00 */
    volatile uint32_t PLLCFGR;   /* 0x04 */
    volatile uint32_t CFGR;      /* 0x08 */
    volatile uint32_t CIR;       /* 0x0C */
    uint32_t reserved0[8];       /* 0x10..0x2C: peripheral resets */
    volatile uint32_t AHB1ENR;   /* 0x30 bit0 GPIOAEN */
    volatile uint32_t AHB2ENR;   /* 0x34 */
    volatile uint32_t AHB3ENR;   /* 0x38 */
    uint32_t reserved1;          /* 0x3C */
    volatile uint32_t APB1ENR;   /* 0x40 */
    volatile uint32_t APB2ENR;   /* 0x44 bit4 USART1EN */
} mcugen_stm32_rcc_t;

typedef struct {
    volatile uint32_t MODER;     /* 0x00 two bits per pin: 0b10 = alternate function */
    volatile uint32_t OTYPER;    /* 0x04 */
    volatile uint32_t OSPEEDR;   /* 0x08 */
    volatile uint32_t PUPDR;     /* 0x0C two bits per pin: 0b01 = pull-up */
    volatile uint32_t IDR;       /* 0x10 */
    volatile uint32_t ODR;       /* 0x14 */
    volatile uint32_t BSRR;      /* 0x18 */
    volatile uint32_t LCKR;      /* 0x1C */
    volatile uint32_t AFR[2];    /* 0x20 pins 0..7, 0x24 pins 8..15: four bits per pin */
} mcugen_stm32_gpio_t;

typedef struct {
    volatile uint32_t SR;        /* 0x00 bit5 RXNE, bit7 TXE, bit3 ORE */
    volatile uint32_t DR;        /* 0x04 */
    volatile uint32_t BRR;       /* 0x08 f_pclk / baud, 12.4 fixed point (16x oversampling) */
    volatile uint32_t CR1;       /* 0x0C bit13 UE, bit3 TE, bit2 RE */
    volatile uint32_t CR2;       /* 0x10 */
    volatile uint32_t CR3;       /* 0x14 */
    volatile uint32_t GTPR;      /* 0x18 */
} mcugen_stm32_usart_t;

_Static_assert(offsetof(mcugen_stm32_rcc_t, AHB1ENR) == 0x30, "RCC layout");
_Static_assert(offsetof(mcugen_stm32_rcc_t, APB2ENR) == 0x44, "RCC layout");
_Static_assert(offsetof(mcugen_stm32_gpio_t, AFR) == 0x20, "GPIO layout");

#define MCUGEN_RCC ((mcugen_stm32_rcc_t *)0x40023800u)
#define MCUGEN_GPIOA ((mcugen_stm32_gpio_t *)0x40020000u)
#define MCUGEN_USART1 ((mcugen_stm32_usart_t *)0x40011000u)

#define MCUGEN_RCC_AHB1ENR_GPIOAEN (1u << 0)
#define MCUGEN_RCC_APB2ENR_USART1EN (1u << 4)
#define MCUGEN_USART_SR_ORE (1u << 3)
#define MCUGEN_USART_SR_RXNE (1u << 5)
#define MCUGEN_USART_SR_TXE (1u << 7)
#define MCUGEN_USART_CR1_RE (1u << 2)
#define MCUGEN_USART_CR1_TE (1u << 3)
#define MCUGEN_USART_CR1_UE (1u << 13)

#endif /* MCUGEN_SOC_H */
