/* The free-running 64-bit counter behind mcugen_board_counter().
 *
 * Which hardware counts depends on the board file's counter.kind, through
 * MCUGEN_BOARD_COUNTER_KIND:
 *
 * - instructions (emulated boards): QEMU 7.2 has no DWT cycle counter (CYCCNT
 *   reads 0), but its SysTick runs on virtual time, and with `-icount shift=N`
 *   every guest instruction is 2^N ns of virtual time. SysTick ticks are then
 *   floor(instructions * 2^N * f_cpu / 1e9): deterministic, and converted back
 *   to instructions here with the exact ratio mcugen chose the shift for
 *   (MCUGEN_BOARD_ICOUNT_NUM / _DEN). Differences of two readings are within one
 *   instruction of the truth.
 * - cycles (real silicon): DWT->CYCCNT, the core's 32-bit cycle counter.
 *
 * Both hardware counters are narrower than 64 bits. SysTick (24 bits) raises an
 * interrupt at every wrap, which counts wraps; CYCCNT (32 bits) has no interrupt,
 * so the same SysTick interrupt (every 2^24 cycles, well inside 2^32) samples it
 * often enough that no wrap goes unseen.
 */
#include <stdint.h>

#include "mcugen_board.h"
#include "mcugen_cortexm.h"

static void mcugen_systick_start(void)
{
    /* Longest period: fewest interrupts. Core clock source, interrupt on wrap. */
    MCUGEN_SYSTICK->LOAD = MCUGEN_SYSTICK_MAX_RELOAD;
    MCUGEN_SYSTICK->VAL = 0;
    MCUGEN_SCB->SHPR[MCUGEN_SCB_SHPR_SYSTICK] = 0; /* highest priority: a wrap is never held back long */
    MCUGEN_SYSTICK->CTRL = MCUGEN_SYSTICK_ENABLE | MCUGEN_SYSTICK_TICKINT | MCUGEN_SYSTICK_CORE_CLOCK;
}

#if MCUGEN_BOARD_COUNTER_KIND == MCUGEN_COUNTER_INSTRUCTIONS

#if !defined(MCUGEN_BOARD_ICOUNT_NUM) || !defined(MCUGEN_BOARD_ICOUNT_DEN)
#error "an instruction counter needs MCUGEN_BOARD_ICOUNT_NUM/_DEN (SysTick ticks -> instructions) in mcugen_board_config.h"
#endif

static volatile uint64_t mcugen_systick_wraps;

void mcugen_counter_init(void)
{
    mcugen_systick_wraps = 0;
    mcugen_systick_start();
}

void mcugen_systick_handler(void)
{
    mcugen_systick_wraps++;
}

uint64_t mcugen_counter_read(void)
{
    /* With interrupts masked, a wrap that has happened but not been counted shows
     * as a pending SysTick: count it here and read VAL again, now certainly from
     * after the wrap. (Retrying until the wrap count is stable is not enough: the
     * interrupt can be taken a few instructions after the wrap.) */
    uint32_t primask = mcugen_irq_save();
    uint64_t wraps = mcugen_systick_wraps;
    uint32_t value = MCUGEN_SYSTICK->VAL;
    if (MCUGEN_SCB->ICSR & MCUGEN_ICSR_PENDSTSET) {
        wraps++;
        value = MCUGEN_SYSTICK->VAL;
    }
    mcugen_irq_restore(primask);
    /* The counter counts down from LOAD; a period is LOAD + 1 = 2^24 ticks. */
    uint64_t ticks = (wraps << 24) + (MCUGEN_SYSTICK_MAX_RELOAD - value);
    return ticks * MCUGEN_BOARD_ICOUNT_NUM / MCUGEN_BOARD_ICOUNT_DEN;
}

#else /* MCUGEN_COUNTER_CYCLES */

static uint32_t mcugen_cyccnt_high;
static uint32_t mcugen_cyccnt_last;

void mcugen_counter_init(void)
{
    /* The DWT is powered only with TRCENA; the Cortex-M7 also locks its registers
     * against software writes until the lock access register is written. */
    MCUGEN_DEMCR |= MCUGEN_DEMCR_TRCENA;
    MCUGEN_DWT->LAR = 0xC5ACCE55u;
    MCUGEN_DWT->CYCCNT = 0;
    MCUGEN_DWT->CTRL |= 1u; /* CYCCNTENA */
    mcugen_cyccnt_high = 0;
    mcugen_cyccnt_last = 0;
    mcugen_systick_start();
}

/* Both the reader and the SysTick interrupt pass through here, with interrupts
 * masked: a reading lower than the last one means CYCCNT wrapped in between. */
static uint64_t mcugen_cyccnt_sample(void)
{
    uint32_t now = MCUGEN_DWT->CYCCNT;
    if (now < mcugen_cyccnt_last) {
        mcugen_cyccnt_high++;
    }
    mcugen_cyccnt_last = now;
    return ((uint64_t)mcugen_cyccnt_high << 32) | now;
}

void mcugen_systick_handler(void)
{
    (void)mcugen_cyccnt_sample();
}

uint64_t mcugen_counter_read(void)
{
    uint32_t primask = mcugen_irq_save();
    uint64_t count = mcugen_cyccnt_sample();
    mcugen_irq_restore(primask);
    return count;
}

#endif
