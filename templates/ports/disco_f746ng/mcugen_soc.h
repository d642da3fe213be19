/* STM32F746NG (Cortex-M7, single-precision FPU, 16 KB I-cache + 16 KB D-cache) on ST's
 * 32F746GDISCOVERY: the registers this port touches, as typed structs.
 *
 * Only the peripherals used are named: RCC, PWR and FLASH for the 216 MHz clock tree,
 * GPIO, USART1 (the ST-LINK virtual COM port) and DMA2 (its receiver's stream 5, the
 * camera's stream 1), and for the camera I2C1 (SCCB) and DCMI; plus the Cortex-M7 cache maintenance registers, which mcugen_cortexm.h leaves out.
 * Registers a port does not use are padding whose size is checked at compile time.
 *
 * Sources (read for semantics, nothing copied): ST RM0385 (STM32F75xxx/F74xxx reference
 * manual) sections 3 (flash interface), 4 (PWR), 5 (RCC), 6 (GPIO), 8 (DMA), 18 (DCMI),
 * 30 (I2C), 31 (USART); Arm ARMv7-M Architecture Reference Manual (DDI 0403) B2.2.7 and
 * the Cortex-M7 TRM (DDI 0489) for the cache operations. The interrupt count is checked
 * against the F74x vector list (the last device interrupt is SPDIF-RX, number 97).
 */
#ifndef MCUGEN_SOC_H
#define MCUGEN_SOC_H

#include <stddef.h>
#include <stdint.h>

/* Device interrupts in the vector table: the F745/F746 have 98 (WWDG = 0 .. SPDIF_RX = 97). */
#define MCUGEN_SOC_IRQ_COUNT 98

/* ---- RCC, 0x40023800 (RM0385 5.3) ---- */
typedef struct {
    volatile uint32_t CR;         /* 0x00 HSION 0, HSIRDY 1, HSEON 16, HSERDY 17, HSEBYP 18, PLLON 24, PLLRDY 25 */
    volatile uint32_t PLLCFGR;    /* 0x04 PLLM [5:0], PLLN [14:6], PLLP [17:16], PLLSRC 22, PLLQ [27:24] */
    volatile uint32_t CFGR;       /* 0x08 SW [1:0], SWS [3:2], HPRE [7:4], PPRE1 [12:10], PPRE2 [15:13] */
    volatile uint32_t CIR;        /* 0x0C */
    volatile uint32_t AHB1RSTR;   /* 0x10 */
    volatile uint32_t AHB2RSTR;   /* 0x14 bit0 DCMIRST */
    volatile uint32_t AHB3RSTR;   /* 0x18 */
    uint32_t reserved0;           /* 0x1C */
    volatile uint32_t APB1RSTR;   /* 0x20 bit21 I2C1RST */
    volatile uint32_t APB2RSTR;   /* 0x24 */
    uint32_t reserved1[2];        /* 0x28..0x2C */
    volatile uint32_t AHB1ENR;    /* 0x30 GPIOxEN = bit (x - 'A'), A..K; DMA2EN 22 */
    volatile uint32_t AHB2ENR;    /* 0x34 bit0 DCMIEN */
    volatile uint32_t AHB3ENR;    /* 0x38 */
    uint32_t reserved2;           /* 0x3C */
    volatile uint32_t APB1ENR;    /* 0x40 I2C1EN 21, PWREN 28 */
    volatile uint32_t APB2ENR;    /* 0x44 USART1EN 4 */
    uint32_t reserved3[17];       /* 0x48..0x88: low-power enables, BDCR, CSR, SSCGR, PLLI2S/SAI */
    volatile uint32_t DCKCFGR1;   /* 0x8C */
    volatile uint32_t DCKCFGR2;   /* 0x90 USART1SEL [1:0] (00 = PCLK2), I2C1SEL [17:16] (00 = PCLK1) */
} mcugen_f7_rcc_t;

/* ---- PWR, 0x40007000 (RM0385 4.4) ---- */
typedef struct {
    volatile uint32_t CR1;        /* 0x00 VOS [15:14] (11 = scale 1), ODEN 16, ODSWEN 17 */
    volatile uint32_t CSR1;       /* 0x04 VOSRDY 14, ODRDY 16, ODSWRDY 17 */
} mcugen_f7_pwr_t;

/* ---- Embedded flash interface, 0x40023C00 (RM0385 3.7) ---- */
typedef struct {
    volatile uint32_t ACR;        /* 0x00 LATENCY [3:0], PRFTEN 8, ARTEN 9, ARTRST 11 */
} mcugen_f7_flash_t;

/* ---- GPIO port x at 0x40020000 + 0x400 * (x - 'A'), ports A..K (RM0385 6.4) ---- */
typedef struct {
    volatile uint32_t MODER;      /* 0x00 two bits per pin: 00 input, 01 output, 10 alternate function */
    volatile uint32_t OTYPER;     /* 0x04 one bit per pin: 1 open drain */
    volatile uint32_t OSPEEDR;    /* 0x08 two bits per pin: 11 very high */
    volatile uint32_t PUPDR;      /* 0x0C two bits per pin: 01 pull-up */
    volatile uint32_t IDR;        /* 0x10 */
    volatile uint32_t ODR;        /* 0x14 */
    volatile uint32_t BSRR;       /* 0x18 bit n sets pin n, bit n + 16 resets it: no read-modify-write */
    volatile uint32_t LCKR;       /* 0x1C */
    volatile uint32_t AFR[2];     /* 0x20 pins 0..7, 0x24 pins 8..15: four bits per pin */
} mcugen_f7_gpio_t;

/* ---- USART (F7 style: ISR/ICR/RDR/TDR, not F4's SR/DR), USART1 at 0x40011000 (RM0385 31.8) ---- */
typedef struct {
    volatile uint32_t CR1;        /* 0x00 UE 0, RE 2, TE 3, M0 12, OVER8 15, M1 28 */
    volatile uint32_t CR2;        /* 0x04 */
    volatile uint32_t CR3;        /* 0x08 DMAR 6: RXNE raises a DMA request */
    volatile uint32_t BRR;        /* 0x0C f_ck / baud with 16x oversampling */
    volatile uint32_t GTPR;       /* 0x10 */
    volatile uint32_t RTOR;       /* 0x14 */
    volatile uint32_t RQR;        /* 0x18 */
    volatile uint32_t ISR;        /* 0x1C PE 0, FE 1, NF 2, ORE 3, RXNE 5, TC 6, TXE 7 */
    volatile uint32_t ICR;        /* 0x20 write 1 to clear: PECF 0, FECF 1, NCF 2, ORECF 3 */
    volatile uint32_t RDR;        /* 0x24 */
    volatile uint32_t TDR;        /* 0x28 */
} mcugen_f7_usart_t;

/* ---- I2C (F7 style: TIMINGR, byte counts in CR2), I2C1 at 0x40005400 (RM0385 30.7) ---- */
typedef struct {
    volatile uint32_t CR1;        /* 0x00 PE 0 */
    volatile uint32_t CR2;        /* 0x04 SADD [9:0], RD_WRN 10, START 13, STOP 14, NBYTES [23:16], AUTOEND 25 */
    volatile uint32_t OAR1;       /* 0x08 */
    volatile uint32_t OAR2;       /* 0x0C */
    volatile uint32_t TIMINGR;    /* 0x10 PRESC [31:28], SCLDEL [23:20], SDADEL [19:16], SCLH [15:8], SCLL [7:0] */
    volatile uint32_t TIMEOUTR;   /* 0x14 */
    volatile uint32_t ISR;        /* 0x18 TXIS 1, RXNE 2, NACKF 4, STOPF 5, BERR 8, ARLO 9, BUSY 15 */
    volatile uint32_t ICR;        /* 0x1C NACKCF 4, STOPCF 5, BERRCF 8, ARLOCF 9 */
    volatile uint32_t PECR;       /* 0x20 */
    volatile uint32_t RXDR;       /* 0x24 */
    volatile uint32_t TXDR;       /* 0x28 */
} mcugen_f7_i2c_t;

/* ---- DCMI, 0x50050000 on AHB2 (RM0385 18.5) ---- */
typedef struct {
    volatile uint32_t CR;         /* 0x00 CAPTURE 0, CM 1 (snapshot), CROP 2, JPEG 3, ESS 4, PCKPOL 5,
                                   *      HSPOL 6, VSPOL 7, FCRC [9:8], EDM [11:10], ENABLE 14,
                                   *      BSM [17:16], OEBS 18, LSM 19, OELS 20 */
    volatile uint32_t SR;         /* 0x04 HSYNC 0, VSYNC 1, FNE 2 */
    volatile uint32_t RIS;        /* 0x08 FRAME 0, OVR 1, ERR 2, VSYNC 3, LINE 4 */
    volatile uint32_t IER;        /* 0x0C */
    volatile uint32_t MIS;        /* 0x10 */
    volatile uint32_t ICR;        /* 0x14 same bits as RIS, write 1 to clear */
    volatile uint32_t ESCR;       /* 0x18 */
    volatile uint32_t ESUR;       /* 0x1C */
    volatile uint32_t CWSTRT;     /* 0x20 */
    volatile uint32_t CWSIZE;     /* 0x24 */
    volatile uint32_t DR;         /* 0x28 four received bytes, first byte in bits [7:0] */
} mcugen_f7_dcmi_t;

/* ---- DMA stream registers (RM0385 8.5); DMA2 at 0x40026400, stream n at 0x10 + 0x18 * n ---- */
typedef struct {
    volatile uint32_t CR;         /* 0x00 EN 0, DIR [7:6], CIRC 8, PINC 9, MINC 10, PSIZE [12:11],
                                   *      MSIZE [14:13], PL [17:16], DBM 18, CHSEL [27:25] */
    volatile uint32_t NDTR;       /* 0x04 items left, in PSIZE units, at most 65535 */
    volatile uint32_t PAR;        /* 0x08 */
    volatile uint32_t M0AR;       /* 0x0C */
    volatile uint32_t M1AR;       /* 0x10 */
    volatile uint32_t FCR;        /* 0x14 FTH [1:0], DMDIS 2 (FIFO mode), FEIE 7 */
} mcugen_f7_dma_stream_t;

typedef struct {
    volatile uint32_t LISR;       /* 0x00 streams 0..3; stream 1: FEIF 6, DMEIF 8, TEIF 9, HTIF 10, TCIF 11 */
    volatile uint32_t HISR;       /* 0x04 streams 4..7 */
    volatile uint32_t LIFCR;      /* 0x08 write 1 to clear, same bits as LISR */
    volatile uint32_t HIFCR;      /* 0x0C */
    mcugen_f7_dma_stream_t S[8];  /* 0x10 + 0x18 * n */
} mcugen_f7_dma_t;

/* ---- Cortex-M7 L1 cache identification (0xE000ED78) and maintenance (0xE000EF50) ----
 * Not in mcugen_cortexm.h, which the M4 boards share: ARMv7-M B2.2.7 / B3.2.3. */
typedef struct {
    volatile uint32_t CLIDR;      /* 0xE000ED78 */
    volatile uint32_t CTR;        /* 0xE000ED7C */
    volatile uint32_t CCSIDR;     /* 0xE000ED80 of the cache CSSELR selects: LineSize [2:0],
                                   *            Associativity [12:3], NumSets [27:13] */
    volatile uint32_t CSSELR;     /* 0xE000ED84 0 = L1 data cache */
} mcugen_m7_cache_id_t;

typedef struct {
    volatile uint32_t ICIALLU;    /* 0x00 invalidate the whole I-cache (write any value) */
    uint32_t reserved0;           /* 0x04 */
    volatile uint32_t ICIMVAU;    /* 0x08 */
    volatile uint32_t DCIMVAC;    /* 0x0C invalidate the D-cache line holding this address */
    volatile uint32_t DCISW;      /* 0x10 invalidate by set/way */
    volatile uint32_t DCCMVAU;    /* 0x14 */
    volatile uint32_t DCCMVAC;    /* 0x18 clean by address */
    volatile uint32_t DCCSW;      /* 0x1C */
    volatile uint32_t DCCIMVAC;   /* 0x20 clean and invalidate by address */
    volatile uint32_t DCCISW;     /* 0x24 */
} mcugen_m7_cache_ops_t;

_Static_assert(offsetof(mcugen_f7_rcc_t, AHB1ENR) == 0x30, "RCC layout");
_Static_assert(offsetof(mcugen_f7_rcc_t, APB1ENR) == 0x40, "RCC layout");
_Static_assert(offsetof(mcugen_f7_rcc_t, APB2ENR) == 0x44, "RCC layout");
_Static_assert(offsetof(mcugen_f7_rcc_t, DCKCFGR2) == 0x90, "RCC layout");
_Static_assert(offsetof(mcugen_f7_pwr_t, CSR1) == 0x04, "PWR layout");
_Static_assert(offsetof(mcugen_f7_gpio_t, BSRR) == 0x18, "GPIO layout");
_Static_assert(offsetof(mcugen_f7_gpio_t, AFR) == 0x20, "GPIO layout");
_Static_assert(offsetof(mcugen_f7_usart_t, BRR) == 0x0C, "USART layout");
_Static_assert(offsetof(mcugen_f7_usart_t, ISR) == 0x1C, "USART layout");
_Static_assert(offsetof(mcugen_f7_usart_t, RDR) == 0x24, "USART layout");
_Static_assert(offsetof(mcugen_f7_usart_t, TDR) == 0x28, "USART layout");
_Static_assert(offsetof(mcugen_f7_i2c_t, TIMINGR) == 0x10, "I2C layout");
_Static_assert(offsetof(mcugen_f7_i2c_t, ISR) == 0x18, "I2C layout");
_Static_assert(offsetof(mcugen_f7_i2c_t, TXDR) == 0x28, "I2C layout");
_Static_assert(offsetof(mcugen_f7_dcmi_t, ICR) == 0x14, "DCMI layout");
_Static_assert(offsetof(mcugen_f7_dcmi_t, DR) == 0x28, "DCMI layout");
_Static_assert(sizeof(mcugen_f7_dma_stream_t) == 0x18, "DMA stream layout");
_Static_assert(offsetof(mcugen_f7_dma_t, S[1]) == 0x28, "DMA layout: stream 1 at 0x28");
_Static_assert(offsetof(mcugen_f7_dma_t, S[5]) == 0x88, "DMA layout: stream 5 at 0x88");
_Static_assert(offsetof(mcugen_m7_cache_id_t, CSSELR) == 0x0C, "cache id layout");
_Static_assert(offsetof(mcugen_m7_cache_ops_t, DCIMVAC) == 0x0C, "cache ops layout");
_Static_assert(offsetof(mcugen_m7_cache_ops_t, DCCIMVAC) == 0x20, "cache ops layout");

#define MCUGEN_RCC ((mcugen_f7_rcc_t *)0x40023800u)
#define MCUGEN_PWR ((mcugen_f7_pwr_t *)0x40007000u)
#define MCUGEN_FLASH ((mcugen_f7_flash_t *)0x40023C00u)
#define MCUGEN_GPIO_BASE 0x40020000u
#define MCUGEN_GPIO_STRIDE 0x400u
#define MCUGEN_GPIO(letter) ((mcugen_f7_gpio_t *)(MCUGEN_GPIO_BASE + MCUGEN_GPIO_STRIDE * (uint32_t)((letter) - 'A')))
#define MCUGEN_GPIO_LAST_PORT 'K' /* the F746NG in its 216-ball package has ports A..K */
#define MCUGEN_USART1 ((mcugen_f7_usart_t *)0x40011000u)
#define MCUGEN_I2C1 ((mcugen_f7_i2c_t *)0x40005400u)
#define MCUGEN_DCMI ((mcugen_f7_dcmi_t *)0x50050000u)
#define MCUGEN_DMA2 ((mcugen_f7_dma_t *)0x40026400u)
#define MCUGEN_M7_CACHE_ID ((mcugen_m7_cache_id_t *)0xE000ED78u)
#define MCUGEN_M7_CACHE_OPS ((mcugen_m7_cache_ops_t *)0xE000EF50u)

/* RCC */
#define MCUGEN_RCC_CR_HSION (1u << 0)
#define MCUGEN_RCC_CR_HSIRDY (1u << 1)
#define MCUGEN_RCC_CR_HSEON (1u << 16)
#define MCUGEN_RCC_CR_HSERDY (1u << 17)
#define MCUGEN_RCC_CR_HSEBYP (1u << 18)
#define MCUGEN_RCC_CR_PLLON (1u << 24)
#define MCUGEN_RCC_CR_PLLRDY (1u << 25)
#define MCUGEN_RCC_PLLCFGR_SRC_HSE (1u << 22)
#define MCUGEN_RCC_CFGR_SW_MASK (3u << 0)
#define MCUGEN_RCC_CFGR_SW_HSI (0u << 0)
#define MCUGEN_RCC_CFGR_SW_PLL (2u << 0)
#define MCUGEN_RCC_CFGR_SWS_MASK (3u << 2)
#define MCUGEN_RCC_CFGR_SWS_PLL (2u << 2)
#define MCUGEN_RCC_CFGR_HPRE_MASK (0xFu << 4)
#define MCUGEN_RCC_CFGR_PPRE1_SHIFT 10
#define MCUGEN_RCC_CFGR_PPRE2_SHIFT 13
#define MCUGEN_RCC_CFGR_PPRE_MASK 7u
#define MCUGEN_RCC_AHB1ENR_DMA2EN (1u << 22)
#define MCUGEN_RCC_AHB2ENR_DCMIEN (1u << 0)
#define MCUGEN_RCC_AHB2RSTR_DCMIRST (1u << 0)
#define MCUGEN_RCC_APB1ENR_I2C1EN (1u << 21)
#define MCUGEN_RCC_APB1RSTR_I2C1RST (1u << 21)
#define MCUGEN_RCC_APB1ENR_PWREN (1u << 28)
#define MCUGEN_RCC_APB2ENR_USART1EN (1u << 4)
#define MCUGEN_RCC_DCKCFGR2_USART1SEL_MASK (3u << 0)
#define MCUGEN_RCC_DCKCFGR2_I2C1SEL_MASK (3u << 16)

/* PWR */
#define MCUGEN_PWR_CR1_VOS_MASK (3u << 14)
#define MCUGEN_PWR_CR1_VOS_SCALE1 (3u << 14)
#define MCUGEN_PWR_CR1_ODEN (1u << 16)
#define MCUGEN_PWR_CR1_ODSWEN (1u << 17)
#define MCUGEN_PWR_CSR1_ODRDY (1u << 16)
#define MCUGEN_PWR_CSR1_ODSWRDY (1u << 17)

/* FLASH */
#define MCUGEN_FLASH_ACR_LATENCY_MASK 0xFu
#define MCUGEN_FLASH_ACR_PRFTEN (1u << 8)
#define MCUGEN_FLASH_ACR_ARTEN (1u << 9)

/* GPIO */
#define MCUGEN_GPIO_MODE_OUTPUT 1u
#define MCUGEN_GPIO_MODE_AF 2u
#define MCUGEN_GPIO_SPEED_VERY_HIGH 3u
#define MCUGEN_GPIO_PULL_UP 1u

/* USART */
#define MCUGEN_USART_CR1_UE (1u << 0)
#define MCUGEN_USART_CR1_RE (1u << 2)
#define MCUGEN_USART_CR1_TE (1u << 3)
#define MCUGEN_USART_CR3_DMAR (1u << 6)
#define MCUGEN_USART_ISR_PE (1u << 0)
#define MCUGEN_USART_ISR_FE (1u << 1)
#define MCUGEN_USART_ISR_NF (1u << 2)
#define MCUGEN_USART_ISR_ORE (1u << 3)
#define MCUGEN_USART_ISR_RXNE (1u << 5)
#define MCUGEN_USART_ISR_TC (1u << 6)
#define MCUGEN_USART_ISR_TXE (1u << 7)
/* ICR bits sit where the matching ISR flags do. */
#define MCUGEN_USART_RX_ERRORS (MCUGEN_USART_ISR_PE | MCUGEN_USART_ISR_FE | MCUGEN_USART_ISR_NF | MCUGEN_USART_ISR_ORE)

/* I2C */
#define MCUGEN_I2C_CR1_PE (1u << 0)
#define MCUGEN_I2C_CR2_RD_WRN (1u << 10)
#define MCUGEN_I2C_CR2_START (1u << 13)
#define MCUGEN_I2C_CR2_STOP (1u << 14)
#define MCUGEN_I2C_CR2_NBYTES_SHIFT 16
#define MCUGEN_I2C_CR2_AUTOEND (1u << 25)
#define MCUGEN_I2C_ISR_TXIS (1u << 1)
#define MCUGEN_I2C_ISR_RXNE (1u << 2)
#define MCUGEN_I2C_ISR_NACKF (1u << 4)
#define MCUGEN_I2C_ISR_STOPF (1u << 5)
#define MCUGEN_I2C_ISR_BERR (1u << 8)
#define MCUGEN_I2C_ISR_ARLO (1u << 9)
#define MCUGEN_I2C_ISR_BUSY (1u << 15)
#define MCUGEN_I2C_ICR_ALL (MCUGEN_I2C_ISR_NACKF | MCUGEN_I2C_ISR_STOPF | MCUGEN_I2C_ISR_BERR | MCUGEN_I2C_ISR_ARLO)

/* DCMI */
#define MCUGEN_DCMI_CR_CAPTURE (1u << 0)
#define MCUGEN_DCMI_CR_CM_SNAPSHOT (1u << 1)
#define MCUGEN_DCMI_CR_PCKPOL_RISING (1u << 5)
#define MCUGEN_DCMI_CR_HSPOL_HIGH (1u << 6)
#define MCUGEN_DCMI_CR_VSPOL_HIGH (1u << 7)
#define MCUGEN_DCMI_CR_ENABLE (1u << 14)
/* BSM [17:16] = 01: keep every other byte; OEBS (18) = 0: keep the first of each pair. */
#define MCUGEN_DCMI_CR_BSM_ALTERNATE (1u << 16)
#define MCUGEN_DCMI_RIS_FRAME (1u << 0)
#define MCUGEN_DCMI_RIS_OVR (1u << 1)
#define MCUGEN_DCMI_RIS_ERR (1u << 2)
#define MCUGEN_DCMI_ICR_ALL 0x1Fu

/* DMA */
#define MCUGEN_DMA_CR_EN (1u << 0)
#define MCUGEN_DMA_CR_DIR_P2M (0u << 6)
#define MCUGEN_DMA_CR_CIRC (1u << 8)
#define MCUGEN_DMA_CR_MINC (1u << 10)
#define MCUGEN_DMA_CR_PSIZE_BYTE (0u << 11)
#define MCUGEN_DMA_CR_PSIZE_WORD (2u << 11)
#define MCUGEN_DMA_CR_MSIZE_BYTE (0u << 13)
#define MCUGEN_DMA_CR_MSIZE_WORD (2u << 13)
#define MCUGEN_DMA_CR_PL_LOW (0u << 16)
#define MCUGEN_DMA_CR_PL_HIGH (2u << 16)
#define MCUGEN_DMA_CR_CHSEL(n) ((uint32_t)(n) << 25)
#define MCUGEN_DMA_NDTR_MAX 65535u
/* Stream 1's flags in LISR/LIFCR: FEIF 6, DMEIF 8, TEIF 9, HTIF 10, TCIF 11. */
#define MCUGEN_DMA_S1_FEIF (1u << 6)
#define MCUGEN_DMA_S1_DMEIF (1u << 8)
#define MCUGEN_DMA_S1_TEIF (1u << 9)
#define MCUGEN_DMA_S1_TCIF (1u << 11)
#define MCUGEN_DMA_S1_ALL (0x3Du << 6)
/* Stream 5's flags in HISR/HIFCR: the same bits (stream 4's shifted by 6). */
#define MCUGEN_DMA_S5_ALL (0x3Du << 6)

/* Cortex-M7 caches: CCR (mcugen_cortexm.h's MCUGEN_SCB->CCR) enable bits, and the L1 line. */
#define MCUGEN_SCB_CCR_DC (1u << 16)
#define MCUGEN_SCB_CCR_IC (1u << 17)
#define MCUGEN_M7_DCACHE_LINE 32u

/* The clocks mcugen_soc_init left running, read back from RCC (so they are right even
 * when it had to stay on the 16 MHz HSI): HCLK is the core clock (DWT->CYCCNT's rate),
 * PCLK1 feeds I2C1, PCLK2 USART1. */
uint32_t mcugen_soc_hclk_hz(void);
uint32_t mcugen_soc_pclk1_hz(void);
uint32_t mcugen_soc_pclk2_hz(void);

#endif /* MCUGEN_SOC_H */
