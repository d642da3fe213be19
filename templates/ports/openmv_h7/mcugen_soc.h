/* STM32H743VI as the OpenMV Cam H7 (OpenMV board OPENMV4) wires it: 12 MHz
 * crystal on HSE, LDO core supply, USART3 (PB10 TX, PB11 RX) as the serial link,
 * an OV7725 on DCMI + I2C1 with its clock from TIM1_CH1.
 *
 * Only the registers this port touches are named; everything else is padding
 * whose size is checked at compile time (_Static_assert), so a wrong offset
 * cannot go unnoticed. No vendor header: the definitions are ours, written from
 * the reference manual's register descriptions.
 *
 * Sources: ST RM0433 (STM32H742/743/750/753 reference manual) sections
 * "Power control (PWR)" (PWR_CR3, PWR_CSR1, PWR_D3CR), "Reset and clock control
 * (RCC)" (RCC_CR, RCC_CFGR, RCC_D1CFGR..D3CFGR, RCC_PLLCKSELR, RCC_PLLCFGR,
 * RCC_PLL1DIVR, RCC_D2CCIP2R, the enable registers), "Embedded flash memory"
 * (FLASH_ACR), "System configuration controller" (SYSCFG_PWRCR), "General-purpose
 * I/Os", "USART", "I2C", "Advanced-control timers (TIM1/TIM8)", "Digital camera
 * interface (DCMI)", "DMA controller", "DMAMUX" and the memory map; ST DS12110
 * (pinout, alternate functions); Arm Cortex-M7 Technical Reference Manual and
 * ARMv7-M ARM (DDI 0403) for the cache maintenance registers. Field positions were
 * cross-checked against the register descriptions of embassy-rs/stm32-data
 * (data/registers: rcc_h7rm0433, pwr_h7rm0433, ... .yaml), read for checking only.
 */
#ifndef MCUGEN_SOC_H
#define MCUGEN_SOC_H

#include <stddef.h>
#include <stdint.h>

/* Device interrupts in the vector table: the H743 numbers them 0 (WWDG1) to
 * 149 (WAKEUP_PIN), some numbers unused in between. */
#define MCUGEN_SOC_IRQ_COUNT 150

/* ---------------------------------------------------------------------------
 * Reset and clock control, 0x58024400 (D3 domain, AHB4).
 */
typedef struct {
    volatile uint32_t CR;        /* 0x00 oscillators and PLL on/ready */
    volatile uint32_t HSICFGR;   /* 0x04 */
    volatile uint32_t CRRCR;     /* 0x08 */
    volatile uint32_t CSICFGR;   /* 0x0C */
    volatile uint32_t CFGR;      /* 0x10 SW[2:0], SWS[5:3], TIMPRE bit 15 */
    uint32_t reserved0;          /* 0x14 */
    volatile uint32_t D1CFGR;    /* 0x18 HPRE[3:0], D1PPRE[6:4], D1CPRE[11:8] */
    volatile uint32_t D2CFGR;    /* 0x1C D2PPRE1[6:4] (APB1), D2PPRE2[10:8] (APB2) */
    volatile uint32_t D3CFGR;    /* 0x20 D3PPRE[6:4] (APB4) */
    uint32_t reserved1;          /* 0x24 */
    volatile uint32_t PLLCKSELR; /* 0x28 PLLSRC[1:0], DIVM1[9:4] */
    volatile uint32_t PLLCFGR;   /* 0x2C PLL1FRACEN 0, PLL1VCOSEL 1, PLL1RGE[3:2], DIVP1EN 16, DIVQ1EN 17, DIVR1EN 18 */
    volatile uint32_t PLL1DIVR;  /* 0x30 DIVN1[8:0], DIVP1[15:9], DIVQ1[22:16], DIVR1[30:24], each value - 1 */
    volatile uint32_t PLL1FRACR; /* 0x34 */
    uint32_t reserved2[5];       /* 0x38..0x48: PLL2/PLL3 dividers */
    volatile uint32_t D1CCIPR;   /* 0x4C */
    volatile uint32_t D2CCIP1R;  /* 0x50 */
    volatile uint32_t D2CCIP2R;  /* 0x54 USART234578SEL[2:0], I2C123SEL[13:12]: 0 = rcc_pclk1 */
    volatile uint32_t D3CCIPR;   /* 0x58 */
    uint32_t reserved3[30];      /* 0x5C..0xD0: interrupts, backup domain, resets, RSR */
    volatile uint32_t AHB3ENR;   /* 0xD4 */
    volatile uint32_t AHB1ENR;   /* 0xD8 DMA1EN 0, DMA2EN 1 */
    volatile uint32_t AHB2ENR;   /* 0xDC DCMIEN 0 */
    volatile uint32_t AHB4ENR;   /* 0xE0 GPIOAEN 0 .. GPIOKEN 10 */
    volatile uint32_t APB3ENR;   /* 0xE4 */
    volatile uint32_t APB1LENR;  /* 0xE8 USART3EN 18, I2C1EN 21 */
    volatile uint32_t APB1HENR;  /* 0xEC */
    volatile uint32_t APB2ENR;   /* 0xF0 TIM1EN 0 */
    volatile uint32_t APB4ENR;   /* 0xF4 SYSCFGEN 1 */
} mcugen_h7_rcc_t;

_Static_assert(offsetof(mcugen_h7_rcc_t, CFGR) == 0x10, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, D1CFGR) == 0x18, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, PLLCKSELR) == 0x28, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, PLL1DIVR) == 0x30, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, D1CCIPR) == 0x4C, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, D2CCIP2R) == 0x54, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, AHB3ENR) == 0xD4, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, AHB4ENR) == 0xE0, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, APB1LENR) == 0xE8, "RCC layout");
_Static_assert(offsetof(mcugen_h7_rcc_t, APB4ENR) == 0xF4, "RCC layout");

#define MCUGEN_H7_RCC ((mcugen_h7_rcc_t *)0x58024400u)

#define MCUGEN_RCC_CR_HSION (1u << 0)
#define MCUGEN_RCC_CR_HSIRDY (1u << 2)
#define MCUGEN_RCC_CR_HSIDIV_SHIFT 3 /* two bits: HSI / 1, 2, 4, 8 */
#define MCUGEN_RCC_CR_HSEON (1u << 16)
#define MCUGEN_RCC_CR_HSERDY (1u << 17)
#define MCUGEN_RCC_CR_HSEBYP (1u << 18)
#define MCUGEN_RCC_CR_PLL1ON (1u << 24)
#define MCUGEN_RCC_CR_PLL1RDY (1u << 25)

#define MCUGEN_RCC_CFGR_SW_MASK 7u
#define MCUGEN_RCC_CFGR_SWS_SHIFT 3
#define MCUGEN_RCC_CFGR_TIMPRE (1u << 15)
#define MCUGEN_RCC_SYSCLK_HSI 0u /* SW / SWS encodings */
#define MCUGEN_RCC_SYSCLK_CSI 1u
#define MCUGEN_RCC_SYSCLK_HSE 2u
#define MCUGEN_RCC_SYSCLK_PLL1 3u

#define MCUGEN_RCC_PLLSRC_MASK 3u
#define MCUGEN_RCC_PLLSRC_HSI 0u
#define MCUGEN_RCC_PLLSRC_CSI 1u
#define MCUGEN_RCC_PLLSRC_HSE 2u
#define MCUGEN_RCC_DIVM1_SHIFT 4
#define MCUGEN_RCC_DIVM1_MASK (0x3Fu << 4)

#define MCUGEN_RCC_PLLCFGR_PLL1_MASK ((0xFu << 0) | (7u << 16)) /* FRACEN, VCOSEL, RGE, DIVP1EN..DIVR1EN */
#define MCUGEN_RCC_PLLCFGR_PLL1VCOSEL (1u << 1)                /* 1 = medium VCO (150..420 MHz), 0 = wide */
#define MCUGEN_RCC_PLLCFGR_PLL1RGE_4_8MHZ (2u << 2)            /* reference clock between 4 and 8 MHz */
#define MCUGEN_RCC_PLLCFGR_DIVP1EN (1u << 16)
#define MCUGEN_RCC_PLLCFGR_DIVQ1EN (1u << 17)

#define MCUGEN_RCC_D2CCIP2R_USART234578SEL_MASK (7u << 0)
#define MCUGEN_RCC_D2CCIP2R_I2C123SEL_MASK (3u << 12)

#define MCUGEN_RCC_AHB1ENR_DMA1EN (1u << 0) /* also clocks DMAMUX1, which has no enable bit of its own */
#define MCUGEN_RCC_AHB1ENR_DMA2EN (1u << 1)
#define MCUGEN_RCC_AHB2ENR_DCMIEN (1u << 0)
#define MCUGEN_RCC_AHB4ENR_GPIO(port) (1u << (port)) /* port 0 = A */
#define MCUGEN_RCC_APB1LENR_USART3EN (1u << 18)
#define MCUGEN_RCC_APB1LENR_I2C1EN (1u << 21)
#define MCUGEN_RCC_APB2ENR_TIM1EN (1u << 0)
#define MCUGEN_RCC_APB4ENR_SYSCFGEN (1u << 1)

/* ---------------------------------------------------------------------------
 * Power control, 0x58024800.
 */
typedef struct {
    volatile uint32_t CR1;       /* 0x00 */
    volatile uint32_t CSR1;      /* 0x04 ACTVOSRDY 13: the supply configuration is in effect */
    volatile uint32_t CR2;       /* 0x08 */
    volatile uint32_t CR3;       /* 0x0C BYPASS 0, LDOEN 1, SCUEN 2 (write-once supply configuration) */
    volatile uint32_t CPUCR;     /* 0x10 */
    uint32_t reserved0;          /* 0x14 */
    volatile uint32_t D3CR;      /* 0x18 VOSRDY 13, VOS[15:14]: 0b01 scale 3, 0b10 scale 2, 0b11 scale 1 */
} mcugen_h7_pwr_t;

_Static_assert(offsetof(mcugen_h7_pwr_t, CR3) == 0x0C, "PWR layout");
_Static_assert(offsetof(mcugen_h7_pwr_t, D3CR) == 0x18, "PWR layout");

#define MCUGEN_H7_PWR ((mcugen_h7_pwr_t *)0x58024800u)

#define MCUGEN_PWR_CSR1_ACTVOSRDY (1u << 13)
#define MCUGEN_PWR_CR3_BYPASS (1u << 0)
#define MCUGEN_PWR_CR3_LDOEN (1u << 1)
#define MCUGEN_PWR_CR3_SCUEN (1u << 2)
#define MCUGEN_PWR_D3CR_VOSRDY (1u << 13)
#define MCUGEN_PWR_D3CR_VOS_MASK (3u << 14)
#define MCUGEN_PWR_D3CR_VOS_SCALE1 (3u << 14)

/* ---------------------------------------------------------------------------
 * System configuration controller, 0x58000400: only PWRCR.
 */
typedef struct {
    uint32_t reserved0[11];      /* 0x00..0x28 */
    volatile uint32_t PWRCR;     /* 0x2C ODEN 0: overdrive, VOS1 -> VOS0 (revision V silicon only) */
} mcugen_h7_syscfg_t;

_Static_assert(offsetof(mcugen_h7_syscfg_t, PWRCR) == 0x2C, "SYSCFG layout");

#define MCUGEN_H7_SYSCFG ((mcugen_h7_syscfg_t *)0x58000400u)
#define MCUGEN_SYSCFG_PWRCR_ODEN (1u << 0)

/* ---------------------------------------------------------------------------
 * Embedded flash interface, 0x52002000: only ACR (shared by both banks).
 */
typedef struct {
    volatile uint32_t ACR;       /* 0x00 LATENCY[3:0] read wait states, WRHIGHFREQ[5:4] programming delay */
} mcugen_h7_flash_t;

#define MCUGEN_H7_FLASH ((mcugen_h7_flash_t *)0x52002000u)
#define MCUGEN_FLASH_ACR_LATENCY_MASK 0xFu
#define MCUGEN_FLASH_ACR_WRHIGHFREQ_SHIFT 4
#define MCUGEN_FLASH_ACR_WRHIGHFREQ_MASK (3u << 4)

/* Debug MCU identity, 0x5C001000: REV_ID[31:16] tells revision Y (0x1003, at most
 * 400 MHz, no VOS0) from revision V (0x2003, 480 MHz with VOS0). */
#define MCUGEN_H7_DBGMCU_IDC (*(volatile uint32_t *)0x5C001000u)
#define MCUGEN_H7_REV_ID_Y 0x1003u

/* ---------------------------------------------------------------------------
 * GPIO ports A..K, 0x58020000 + 0x400 * port (AHB4).
 */
typedef struct {
    volatile uint32_t MODER;     /* 0x00 two bits per pin: 0b00 input, 0b01 output, 0b10 alternate, 0b11 analog (reset) */
    volatile uint32_t OTYPER;    /* 0x04 one bit per pin: 1 = open drain */
    volatile uint32_t OSPEEDR;   /* 0x08 two bits per pin */
    volatile uint32_t PUPDR;     /* 0x0C two bits per pin: 0b01 pull-up, 0b10 pull-down */
    volatile uint32_t IDR;       /* 0x10 */
    volatile uint32_t ODR;       /* 0x14 */
    volatile uint32_t BSRR;      /* 0x18 bits 0..15 set, 16..31 reset, atomically */
    volatile uint32_t LCKR;      /* 0x1C */
    volatile uint32_t AFR[2];    /* 0x20 pins 0..7, 0x24 pins 8..15: four bits per pin */
} mcugen_h7_gpio_t;

_Static_assert(offsetof(mcugen_h7_gpio_t, BSRR) == 0x18, "GPIO layout");
_Static_assert(offsetof(mcugen_h7_gpio_t, AFR) == 0x20, "GPIO layout");

#define MCUGEN_H7_GPIO_BASE 0x58020000u
#define MCUGEN_H7_GPIO_STRIDE 0x400u
#define MCUGEN_H7_GPIO(port) ((mcugen_h7_gpio_t *)(MCUGEN_H7_GPIO_BASE + MCUGEN_H7_GPIO_STRIDE * (uint32_t)(port)))
#define MCUGEN_H7_PORT_A 0u
#define MCUGEN_H7_PORT_B 1u
#define MCUGEN_H7_PORT_C 2u
#define MCUGEN_H7_PORT_D 3u
#define MCUGEN_H7_PORT_E 4u
#define MCUGEN_H7_PORT_COUNT 11u /* A..K */

/* ---------------------------------------------------------------------------
 * USART (the F7/H7 generation: separate ISR/ICR/RDR/TDR), USART3 at 0x40004800.
 */
typedef struct {
    volatile uint32_t CR1;       /* 0x00 UE 0, RE 2, TE 3, FIFOEN 29 */
    volatile uint32_t CR2;       /* 0x04 */
    volatile uint32_t CR3;       /* 0x08 DMAR 6: RXNE raises a DMA request */
    volatile uint32_t BRR;       /* 0x0C usart_ker_ck / baud with 16x oversampling */
    volatile uint32_t GTPR;      /* 0x10 */
    volatile uint32_t RTOR;      /* 0x14 */
    volatile uint32_t RQR;       /* 0x18 */
    volatile uint32_t ISR;       /* 0x1C PE 0, FE 1, NE 2, ORE 3, RXNE 5, TC 6, TXE 7 */
    volatile uint32_t ICR;       /* 0x20 write 1 to clear: PECF 0, FECF 1, NECF 2, ORECF 3 */
    volatile uint32_t RDR;       /* 0x24 */
    volatile uint32_t TDR;       /* 0x28 */
    volatile uint32_t PRESC;     /* 0x2C kernel clock prescaler (0 = /1) */
} mcugen_h7_usart_t;

_Static_assert(offsetof(mcugen_h7_usart_t, BRR) == 0x0C, "USART layout");
_Static_assert(offsetof(mcugen_h7_usart_t, ISR) == 0x1C, "USART layout");
_Static_assert(offsetof(mcugen_h7_usart_t, RDR) == 0x24, "USART layout");
_Static_assert(offsetof(mcugen_h7_usart_t, TDR) == 0x28, "USART layout");
_Static_assert(offsetof(mcugen_h7_usart_t, PRESC) == 0x2C, "USART layout");

#define MCUGEN_H7_USART3 ((mcugen_h7_usart_t *)0x40004800u)

#define MCUGEN_USART_CR1_UE (1u << 0)
#define MCUGEN_USART_CR1_RE (1u << 2)
#define MCUGEN_USART_CR1_TE (1u << 3)
#define MCUGEN_USART_CR3_DMAR (1u << 6)
#define MCUGEN_USART_ISR_PE (1u << 0)
#define MCUGEN_USART_ISR_FE (1u << 1)
#define MCUGEN_USART_ISR_NE (1u << 2)
#define MCUGEN_USART_ISR_ORE (1u << 3)
#define MCUGEN_USART_ISR_RXNE (1u << 5)
#define MCUGEN_USART_ISR_TC (1u << 6)
#define MCUGEN_USART_ISR_TXE (1u << 7)
#define MCUGEN_USART_ICR_ERRORS (0xFu) /* PECF, FECF, NECF, ORECF */

/* ---------------------------------------------------------------------------
 * I2C (the F7/H7 generation: the master sends START, address and NBYTES itself),
 * I2C1 at 0x40005400.
 */
typedef struct {
    volatile uint32_t CR1;       /* 0x00 PE 0 */
    volatile uint32_t CR2;       /* 0x04 SADD[9:0], RD_WRN 10, START 13, STOP 14, NBYTES[23:16], AUTOEND 25 */
    volatile uint32_t OAR1;      /* 0x08 */
    volatile uint32_t OAR2;      /* 0x0C */
    volatile uint32_t TIMINGR;   /* 0x10 PRESC[31:28], SCLDEL[23:20], SDADEL[19:16], SCLH[15:8], SCLL[7:0] */
    volatile uint32_t TIMEOUTR;  /* 0x14 */
    volatile uint32_t ISR;       /* 0x18 TXE 0, TXIS 1, RXNE 2, NACKF 4, STOPF 5, TC 6, BERR 8, ARLO 9, BUSY 15 */
    volatile uint32_t ICR;       /* 0x1C write 1 to clear: NACKCF 4, STOPCF 5, BERRCF 8, ARLOCF 9 */
    volatile uint32_t PECR;      /* 0x20 */
    volatile uint32_t RXDR;      /* 0x24 */
    volatile uint32_t TXDR;      /* 0x28 */
} mcugen_h7_i2c_t;

_Static_assert(offsetof(mcugen_h7_i2c_t, TIMINGR) == 0x10, "I2C layout");
_Static_assert(offsetof(mcugen_h7_i2c_t, ISR) == 0x18, "I2C layout");
_Static_assert(offsetof(mcugen_h7_i2c_t, TXDR) == 0x28, "I2C layout");

#define MCUGEN_H7_I2C1 ((mcugen_h7_i2c_t *)0x40005400u)

#define MCUGEN_I2C_CR1_PE (1u << 0)
#define MCUGEN_I2C_CR2_RD_WRN (1u << 10)
#define MCUGEN_I2C_CR2_START (1u << 13)
#define MCUGEN_I2C_CR2_STOP (1u << 14)
#define MCUGEN_I2C_CR2_NBYTES_SHIFT 16
#define MCUGEN_I2C_CR2_AUTOEND (1u << 25)
#define MCUGEN_I2C_ISR_TXE (1u << 0)
#define MCUGEN_I2C_ISR_TXIS (1u << 1)
#define MCUGEN_I2C_ISR_RXNE (1u << 2)
#define MCUGEN_I2C_ISR_NACKF (1u << 4)
#define MCUGEN_I2C_ISR_STOPF (1u << 5)
#define MCUGEN_I2C_ISR_BERR (1u << 8)
#define MCUGEN_I2C_ISR_ARLO (1u << 9)
#define MCUGEN_I2C_ISR_BUSY (1u << 15)
#define MCUGEN_I2C_ICR_ALL ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9) | (1u << 10))

/* ---------------------------------------------------------------------------
 * Advanced-control timer TIM1, 0x40010000 (APB2): only what one PWM output needs.
 */
typedef struct {
    volatile uint32_t CR1;       /* 0x00 CEN 0, ARPE 7 */
    volatile uint32_t CR2;       /* 0x04 */
    volatile uint32_t SMCR;      /* 0x08 */
    volatile uint32_t DIER;      /* 0x0C */
    volatile uint32_t SR;        /* 0x10 */
    volatile uint32_t EGR;       /* 0x14 UG 0 */
    volatile uint32_t CCMR1;     /* 0x18 OC1PE 3, OC1M[6:4] (0b110 = PWM mode 1) */
    volatile uint32_t CCMR2;     /* 0x1C */
    volatile uint32_t CCER;      /* 0x20 CC1E 0 */
    volatile uint32_t CNT;       /* 0x24 */
    volatile uint32_t PSC;       /* 0x28 */
    volatile uint32_t ARR;       /* 0x2C period - 1 */
    volatile uint32_t RCR;       /* 0x30 */
    volatile uint32_t CCR1;      /* 0x34 */
    volatile uint32_t CCR2;      /* 0x38 */
    volatile uint32_t CCR3;      /* 0x3C */
    volatile uint32_t CCR4;      /* 0x40 */
    volatile uint32_t BDTR;      /* 0x44 MOE 15: advanced timers drive no output without it */
} mcugen_h7_tim_t;

_Static_assert(offsetof(mcugen_h7_tim_t, CCER) == 0x20, "TIM layout");
_Static_assert(offsetof(mcugen_h7_tim_t, CCR1) == 0x34, "TIM layout");
_Static_assert(offsetof(mcugen_h7_tim_t, BDTR) == 0x44, "TIM layout");

#define MCUGEN_H7_TIM1 ((mcugen_h7_tim_t *)0x40010000u)

#define MCUGEN_TIM_CR1_CEN (1u << 0)
#define MCUGEN_TIM_CR1_ARPE (1u << 7)
#define MCUGEN_TIM_EGR_UG (1u << 0)
#define MCUGEN_TIM_CCMR1_OC1PE (1u << 3)
#define MCUGEN_TIM_CCMR1_OC1M_PWM1 (6u << 4)
#define MCUGEN_TIM_CCER_CC1E (1u << 0)
#define MCUGEN_TIM_BDTR_MOE (1u << 15)

/* ---------------------------------------------------------------------------
 * Digital camera interface, 0x48020000 (AHB2, D2 domain).
 */
typedef struct {
    volatile uint32_t CR;        /* 0x00 see the bits below */
    volatile uint32_t SR;        /* 0x04 HSYNC 0, VSYNC 1, FNE 2 */
    volatile uint32_t RIS;       /* 0x08 FRAME 0, OVR 1, ERR 2, VSYNC 3, LINE 4 */
    volatile uint32_t IER;       /* 0x0C */
    volatile uint32_t MIS;       /* 0x10 */
    volatile uint32_t ICR;       /* 0x14 write 1 to clear, same bits as RIS */
    volatile uint32_t ESCR;      /* 0x18 */
    volatile uint32_t ESUR;      /* 0x1C */
    volatile uint32_t CWSTRT;    /* 0x20 */
    volatile uint32_t CWSIZE;    /* 0x24 */
    volatile uint32_t DR;        /* 0x28 four captured bytes, the first in bits 7:0 */
} mcugen_h7_dcmi_t;

_Static_assert(offsetof(mcugen_h7_dcmi_t, ICR) == 0x14, "DCMI layout");
_Static_assert(offsetof(mcugen_h7_dcmi_t, DR) == 0x28, "DCMI layout");

#define MCUGEN_H7_DCMI ((mcugen_h7_dcmi_t *)0x48020000u)

#define MCUGEN_DCMI_CR_CAPTURE (1u << 0)
#define MCUGEN_DCMI_CR_CM_SNAPSHOT (1u << 1)
#define MCUGEN_DCMI_CR_CROP (1u << 2)
#define MCUGEN_DCMI_CR_PCKPOL_RISING (1u << 5)
#define MCUGEN_DCMI_CR_HSPOL_HIGH (1u << 6) /* level of HSYNC while data is NOT valid */
#define MCUGEN_DCMI_CR_VSPOL_HIGH (1u << 7) /* level of VSYNC while data is NOT valid */
#define MCUGEN_DCMI_CR_EDM_8BIT (0u << 10)
#define MCUGEN_DCMI_CR_ENABLE (1u << 14)
#define MCUGEN_DCMI_CR_BSM_EVERY_OTHER (1u << 16) /* keep one byte in two (OEBS 18 = 0: the first) */
#define MCUGEN_DCMI_RIS_FRAME (1u << 0)
#define MCUGEN_DCMI_RIS_OVR (1u << 1)
#define MCUGEN_DCMI_RIS_ERR (1u << 2)
#define MCUGEN_DCMI_ICR_ALL 0x1Fu

/* ---------------------------------------------------------------------------
 * DMA controllers DMA1, 0x40020000, and DMA2, 0x40020400 (AHB1, D2 domain), eight
 * streams each. They reach AXI SRAM and the D2 SRAMs, not the TCMs.
 */
typedef struct {
    volatile uint32_t CR;        /* 0x00 see the bits below */
    volatile uint32_t NDTR;      /* 0x04 items left (at most 65535) */
    volatile uint32_t PAR;       /* 0x08 */
    volatile uint32_t M0AR;      /* 0x0C */
    volatile uint32_t M1AR;      /* 0x10 */
    volatile uint32_t FCR;       /* 0x14 FTH[1:0], DMDIS 2 (0 = direct mode) */
} mcugen_h7_dma_stream_t;

typedef struct {
    volatile uint32_t LISR;      /* 0x00 streams 0..3: flags at bit offsets 0, 6, 16, 22 */
    volatile uint32_t HISR;      /* 0x04 streams 4..7 */
    volatile uint32_t LIFCR;     /* 0x08 write 1 to clear, same layout as LISR */
    volatile uint32_t HIFCR;     /* 0x0C */
    mcugen_h7_dma_stream_t S[8]; /* 0x10 + 0x18 * n */
} mcugen_h7_dma_t;

_Static_assert(sizeof(mcugen_h7_dma_stream_t) == 0x18, "DMA stream layout");
_Static_assert(offsetof(mcugen_h7_dma_t, S[1]) == 0x28, "DMA layout");

#define MCUGEN_H7_DMA1 ((mcugen_h7_dma_t *)0x40020000u)
#define MCUGEN_H7_DMA2 ((mcugen_h7_dma_t *)0x40020400u)

#define MCUGEN_DMA_CR_EN (1u << 0)
#define MCUGEN_DMA_CR_DIR_P2M (0u << 6)
#define MCUGEN_DMA_CR_CIRC (1u << 8)
#define MCUGEN_DMA_CR_MINC (1u << 10)
#define MCUGEN_DMA_CR_PSIZE_8 (0u << 11)
#define MCUGEN_DMA_CR_PSIZE_32 (2u << 11)
#define MCUGEN_DMA_CR_MSIZE_8 (0u << 13)
#define MCUGEN_DMA_CR_MSIZE_32 (2u << 13)
#define MCUGEN_DMA_CR_PL_LOW (0u << 16)
#define MCUGEN_DMA_CR_PL_HIGH (2u << 16)
/* TRBUFF (bufferable transfers): RM0433 (from revision 7) says it must be 1 on a stream
 * serving a U(S)ART; without it the stream can lock up when another stream transfers at
 * the same time (errata ES0392, "DMA stream locked when transferring data to/from USART"). */
#define MCUGEN_DMA_CR_TRBUFF (1u << 20)
/* Stream 0's flags in LISR / LIFCR: FEIF 0, DMEIF 2, TEIF 3, HTIF 4, TCIF 5. */
#define MCUGEN_DMA_S0_TEIF (1u << 3)
#define MCUGEN_DMA_S0_ALL 0x3Du
/* Stream 1's flags in LISR / LIFCR (stream 0's shifted by 6). */
#define MCUGEN_DMA_S1_FEIF (1u << 6)
#define MCUGEN_DMA_S1_DMEIF (1u << 8)
#define MCUGEN_DMA_S1_TEIF (1u << 9)
#define MCUGEN_DMA_S1_HTIF (1u << 10)
#define MCUGEN_DMA_S1_TCIF (1u << 11)
#define MCUGEN_DMA_S1_ALL (MCUGEN_DMA_S1_FEIF | MCUGEN_DMA_S1_DMEIF | MCUGEN_DMA_S1_TEIF | MCUGEN_DMA_S1_HTIF | MCUGEN_DMA_S1_TCIF)

/* ---------------------------------------------------------------------------
 * DMAMUX1, 0x40020800: channel c feeds DMA1 stream c (c = 0..7) and DMA2
 * stream c - 8 (c = 8..15); CCR's DMAREQ_ID[6:0] picks the request.
 */
typedef struct {
    volatile uint32_t CCR[16];   /* 0x00 */
} mcugen_h7_dmamux_t;

#define MCUGEN_H7_DMAMUX1 ((mcugen_h7_dmamux_t *)0x40020800u)
#define MCUGEN_DMAMUX1_CHANNEL_DMA1(stream) (stream)
#define MCUGEN_DMAMUX1_CHANNEL_DMA2(stream) (8u + (stream))
#define MCUGEN_DMAMUX1_REQ_USART3_RX 45u /* RM0433 DMAMUX1 request table: usart3_rx_dma */
#define MCUGEN_DMAMUX1_REQ_DCMI 75u      /* RM0433 DMAMUX1 request table: dcmi_dma */

/* ---------------------------------------------------------------------------
 * Cortex-M7 L1 caches (not in the shared mcugen_cortexm.h): identification at
 * 0xE000ED78, maintenance operations at 0xE000EF50. CCR (0xE000ED14, in
 * mcugen_scb_t) holds the enables: DC bit 16, IC bit 17.
 */
typedef struct {
    volatile uint32_t CLIDR;     /* 0xED78 */
    volatile uint32_t CTR;       /* 0xED7C */
    volatile uint32_t CCSIDR;    /* 0xED80 of the cache CSSELR selects: LineSize[2:0], Associativity[12:3], NumSets[27:13] */
    volatile uint32_t CSSELR;    /* 0xED84 0 = level 1 data cache */
} mcugen_h7_cache_id_t;

typedef struct {
    volatile uint32_t ICIALLU;   /* 0xEF50 invalidate the whole I-cache */
    uint32_t reserved0;          /* 0xEF54 */
    volatile uint32_t ICIMVAU;   /* 0xEF58 */
    volatile uint32_t DCIMVAC;   /* 0xEF5C invalidate the D-cache line holding this address */
    volatile uint32_t DCISW;     /* 0xEF60 invalidate by set and way */
    volatile uint32_t DCCMVAU;   /* 0xEF64 */
    volatile uint32_t DCCMVAC;   /* 0xEF68 clean by address */
    volatile uint32_t DCCSW;     /* 0xEF6C */
    volatile uint32_t DCCIMVAC;  /* 0xEF70 clean and invalidate by address */
    volatile uint32_t DCCISW;    /* 0xEF74 */
} mcugen_h7_cache_t;

_Static_assert(offsetof(mcugen_h7_cache_id_t, CSSELR) == 0x0C, "cache id layout");
_Static_assert(offsetof(mcugen_h7_cache_t, DCIMVAC) == 0x0C, "cache maintenance layout");
_Static_assert(offsetof(mcugen_h7_cache_t, DCCIMVAC) == 0x20, "cache maintenance layout");

#define MCUGEN_H7_CACHE_ID ((mcugen_h7_cache_id_t *)0xE000ED78u)
#define MCUGEN_H7_CACHE ((mcugen_h7_cache_t *)0xE000EF50u)
#define MCUGEN_SCB_CCR_DC (1u << 16)
#define MCUGEN_SCB_CCR_IC (1u << 17)
#define MCUGEN_H7_DCACHE_LINE 32u /* Cortex-M7: 32-byte lines */

/* ---------------------------------------------------------------------------
 * Shared inside the port (mcugen_soc.c, mcugen_camera_ov7725.c).
 */

/* The clocks as the registers say they are now (the clock setup can fall back to
 * HSI, or to 400 MHz on revision Y silicon): peripherals derive their dividers
 * from these, never from a constant. */
uint32_t mcugen_h7_sysclk_hz(void);
uint32_t mcugen_h7_hclk_hz(void);     /* AHB and AXI */
uint32_t mcugen_h7_pclk1_hz(void);    /* APB1: USART3, I2C1 kernel clocks */
uint32_t mcugen_h7_tim_apb2_hz(void); /* TIM1's kernel clock */

/* Busy-waits at least `us` microseconds (DWT cycle counter). */
void mcugen_h7_delay_us(uint32_t us);

/* Sets pin `pin` of `port` (0 = A) to `mode` (0 input, 1 output, 2 alternate
 * `af`), push-pull, no pull, speed `speed` (0..3). */
void mcugen_h7_gpio_config(uint32_t port, uint32_t pin, uint32_t mode, uint32_t af, uint32_t speed);

/* D-cache maintenance over [address, address + bytes), whole 32-byte lines. */
void mcugen_h7_dcache_clean_invalidate(const void *address, uint32_t bytes);
void mcugen_h7_dcache_invalidate(const void *address, uint32_t bytes);

#endif /* MCUGEN_SOC_H */
