/* The Cortex-M core registers mcugen's ports use, as typed structs (ARMv7-M
 * Architecture Reference Manual, DDI 0403, section B3: the System Control Space).
 *
 * Only the registers a port touches are named; the rest is padding whose size is
 * checked at compile time, so a wrong offset cannot go unnoticed. No CMSIS: the
 * firmware carries no vendor code.
 */
#ifndef MCUGEN_CORTEXM_H
#define MCUGEN_CORTEXM_H

#include <stddef.h>
#include <stdint.h>

/* System Control Block, 0xE000ED00. */
typedef struct {
    volatile uint32_t CPUID;     /* 0x00 */
    volatile uint32_t ICSR;      /* 0x04 interrupt control and state: PENDSTSET is bit 26 */
    volatile uint32_t VTOR;      /* 0x08 vector table offset */
    volatile uint32_t AIRCR;     /* 0x0C */
    volatile uint32_t SCR;       /* 0x10 */
    volatile uint32_t CCR;       /* 0x14 */
    volatile uint8_t SHPR[12];   /* 0x18 system handler priorities, one byte per exception 4..15 */
    volatile uint32_t SHCSR;     /* 0x24 */
    volatile uint32_t CFSR;      /* 0x28 configurable fault status: MMFSR | BFSR << 8 | UFSR << 16 */
    volatile uint32_t HFSR;      /* 0x2C hard fault status */
    volatile uint32_t DFSR;      /* 0x30 */
    volatile uint32_t MMFAR;     /* 0x34 memory-management fault address */
    volatile uint32_t BFAR;      /* 0x38 bus fault address */
    volatile uint32_t AFSR;      /* 0x3C */
    uint32_t reserved0[18];      /* 0x40..0x84: feature registers, cache identification */
    volatile uint32_t CPACR;     /* 0x88 coprocessor access: CP10/CP11 are the FPU */
} mcugen_scb_t;

/* SysTick, 0xE000E010: a 24-bit down-counter on the core clock. */
typedef struct {
    volatile uint32_t CTRL;      /* 0x00 bit0 ENABLE, bit1 TICKINT, bit2 CLKSOURCE (1 = core clock), bit16 COUNTFLAG */
    volatile uint32_t LOAD;      /* 0x04 reload value */
    volatile uint32_t VAL;       /* 0x08 current value; any write clears it */
    volatile uint32_t CALIB;     /* 0x0C */
} mcugen_systick_t;

/* Data Watchpoint and Trace unit, 0xE0001000: holds the cycle counter. */
typedef struct {
    volatile uint32_t CTRL;      /* 0x000 bit0 CYCCNTENA */
    volatile uint32_t CYCCNT;    /* 0x004 core clock cycles, 32 bits, wraps */
    uint32_t reserved0[1002];    /* 0x008..0xFAC */
    volatile uint32_t LAR;       /* 0xFB0 lock access (Cortex-M7): 0xC5ACCE55 unlocks writes */
} mcugen_dwt_t;

/* Debug Exception and Monitor Control, 0xE000EDFC: TRCENA (bit 24) powers the DWT. */
#define MCUGEN_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define MCUGEN_DEMCR_TRCENA (1u << 24)

_Static_assert(offsetof(mcugen_scb_t, CFSR) == 0x28, "SCB layout");
_Static_assert(offsetof(mcugen_scb_t, CPACR) == 0x88, "SCB layout");
_Static_assert(offsetof(mcugen_dwt_t, LAR) == 0xFB0, "DWT layout");

#define MCUGEN_SCB ((mcugen_scb_t *)0xE000ED00u)
#define MCUGEN_SYSTICK ((mcugen_systick_t *)0xE000E010u)
#define MCUGEN_DWT ((mcugen_dwt_t *)0xE0001000u)

#define MCUGEN_ICSR_PENDSTSET (1u << 26)
#define MCUGEN_SYSTICK_ENABLE (1u << 0)
#define MCUGEN_SYSTICK_TICKINT (1u << 1)
#define MCUGEN_SYSTICK_CORE_CLOCK (1u << 2)
#define MCUGEN_SYSTICK_MAX_RELOAD 0x00FFFFFFu
#define MCUGEN_SCB_SHPR_SYSTICK 11 /* SHPR byte of exception 15 */

static inline void mcugen_dsb(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void mcugen_isb(void) { __asm volatile("isb 0xF" ::: "memory"); }

/* Masks interrupts and returns the previous PRIMASK, for mcugen_irq_restore(). */
static inline uint32_t mcugen_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline void mcugen_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline uint32_t mcugen_ipsr(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    return ipsr & 0x1FFu;
}

/* Shared by the Cortex-M layer and the SoC port (mcugen_soc.c). */
void mcugen_counter_init(void);
uint64_t mcugen_counter_read(void);
void mcugen_systick_handler(void);
void mcugen_fault_entry(void);

#endif /* MCUGEN_CORTEXM_H */
