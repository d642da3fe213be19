/* The free-running 64-bit counter behind mcugen_board_counter().
 *
 * Which hardware counts depends on the board file's counter.kind, through
 * MCUGEN_BOARD_COUNTER_KIND:
 *
 * - instructions (emulated boards): QEMU 7.2 has no DWT cycle counter (CYCCNT
 *   reads 0), but its SysTick runs on virtual time, and with `-icount shift=N`
 *   every guest instruction is 2^N ns of virtual time. SysTick ticks are then
 *   floor(instructions * 2^N * f_cpu / 1e9), and mcugen picks N so that this
 *   is more than one tick per instruction; the count is converted back to
 *   instructions here, exactly (MCUGEN_BOARD_ICOUNT_NUM / _DEN, and see
 *   mcugen_counter_read for how the same code always gets the same count).
 * - cycles (real silicon): DWT->CYCCNT, the core's 32-bit cycle counter.
 *
 * Both hardware counters are narrower than 64 bits. SysTick (24 bits) raises an
 * interrupt at every wrap, which counts wraps (the instruction counter also
 * restarts it at every reading, so wraps are rare); CYCCNT (32 bits) has no interrupt,
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

/* Ticks QEMU 7.2's SysTick shows right after a write to VAL has restarted it,
 * beyond the whole ticks passed: after J instructions it has counted
 * floor(J * r) + 2 (measured; see mcugen_counter_read). */
#define MCUGEN_SYSTICK_RESTART_TICKS 2u
#define MCUGEN_ICSR_PENDSTCLR (1u << 25)

static volatile uint32_t mcugen_systick_wraps; /* since the last restart */
static uint64_t mcugen_instructions;           /* from mcugen_counter_init to the last restart */

void mcugen_counter_init(void)
{
    mcugen_systick_wraps = 0;
    mcugen_instructions = 0;
    mcugen_systick_start();
}

void mcugen_systick_handler(void)
{
    mcugen_systick_wraps++;
}

/* Every reading restarts SysTick (a write to VAL), and converts the ticks since
 * the previous restart into instructions.
 *
 * Why restart: SysTick's ticks are r = 2^N * f_cpu / 1 GHz per instruction, and r
 * is not a whole number (1.6 on mps2, 1.344 on netduinoplus2). A free-running
 * counter would be read at a phase that depends on how long the firmware waited
 * for the host, so the same code would measure one more or one less instruction
 * from run to run. Restarted at a known instruction, the ticks after J further
 * instructions are exactly floor(J * r) + 2, and because r > 1 (mcugen picks the
 * shift for that) no two J give the same count: J = ceil((ticks - 2) / r). The
 * same code then always measures the same number, wherever and whenever it runs.
 * The restart also stops the small drift QEMU's periodic reload adds when the
 * tick period is not a whole number of nanoseconds (netduinoplus2). */
uint64_t mcugen_counter_read(void)
{
    uint32_t primask = mcugen_irq_save();
    uint32_t value;
    /* Read and restart in two adjacent instructions: exactly one instruction
     * (the store) lies between the reading and the new start. */
    __asm volatile("ldr %0, [%1]\n\tstr %2, [%1]"
                   : "=&r"(value)
                   : "r"(&MCUGEN_SYSTICK->VAL), "r"(0u)
                   : "memory");
    /* A wrap before the reading whose interrupt is still held back by the mask:
     * count it here and drop it, the restart has taken its place. */
    uint32_t wraps = mcugen_systick_wraps;
    if (MCUGEN_SCB->ICSR & MCUGEN_ICSR_PENDSTSET) {
        wraps++;
        MCUGEN_SCB->ICSR = MCUGEN_ICSR_PENDSTCLR;
    }
    mcugen_systick_wraps = 0;
    /* After a restart VAL reads 0, then LOAD, LOAD - 1, ..., 1, 0 (interrupt), LOAD, ...:
     * a period of 2^24 ticks, and (2^24 - VAL) mod 2^24 ticks into the current one. */
    uint64_t ticks = ((uint64_t)wraps << 24) + ((0x1000000u - value) & MCUGEN_SYSTICK_MAX_RELOAD);
    uint64_t instructions = 0;
    if (ticks > MCUGEN_SYSTICK_RESTART_TICKS) {
        instructions = ((ticks - MCUGEN_SYSTICK_RESTART_TICKS) * MCUGEN_BOARD_ICOUNT_NUM + MCUGEN_BOARD_ICOUNT_DEN - 1u) /
                       MCUGEN_BOARD_ICOUNT_DEN;
    }
    mcugen_instructions += instructions + 1u; /* + the store */
    uint64_t count = mcugen_instructions;
    mcugen_irq_restore(primask);
    return count;
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
