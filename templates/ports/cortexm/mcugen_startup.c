/* Vector table and reset handler for every Cortex-M port: no vendor startup code.
 *
 * The core reads the initial stack pointer and the reset handler's address from
 * the first two words of the vector table, which the linker script puts first in
 * code memory (mcugen.ld: .vectors). Everything before main() happens here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcugen_cortexm.h"
#include "mcugen_port.h"

/* Linker script symbols (mcugen.ld). Their addresses are the values. */
extern uint32_t __mcugen_stack_top;
extern uint32_t __mcugen_data_load, __mcugen_data_start, __mcugen_data_end;
extern uint32_t __mcugen_bss_start, __mcugen_bss_end;
extern uint8_t __mcugen_heap_start, __mcugen_heap_end;

int main(void);
void mcugen_reset_handler(void);

typedef void (*mcugen_handler_t)(void);

typedef struct {
    void *initial_sp;
    mcugen_handler_t core[15];                        /* exceptions 1..15 */
    mcugen_handler_t irq[MCUGEN_SOC_IRQ_COUNT];       /* the SoC's interrupts, exception 16 on */
} mcugen_vector_table_t;

/* Every exception and interrupt mcugen does not use goes to the fault reporter:
 * none is enabled, so one arriving is a bug worth a line on the serial link. */
#define MCUGEN_UNUSED mcugen_fault_entry

__attribute__((section(".vectors"), used)) const mcugen_vector_table_t mcugen_vectors = {
    .initial_sp = &__mcugen_stack_top,
    .core = {
        mcugen_reset_handler, /* 1 Reset */
        MCUGEN_UNUSED,        /* 2 NMI */
        mcugen_fault_entry,   /* 3 HardFault */
        mcugen_fault_entry,   /* 4 MemManage (escalates to HardFault unless enabled) */
        mcugen_fault_entry,   /* 5 BusFault */
        mcugen_fault_entry,   /* 6 UsageFault */
        0, 0, 0, 0,           /* 7..10 reserved */
        MCUGEN_UNUSED,        /* 11 SVCall */
        MCUGEN_UNUSED,        /* 12 DebugMonitor */
        0,                    /* 13 reserved */
        MCUGEN_UNUSED,        /* 14 PendSV */
        mcugen_systick_handler, /* 15 SysTick: extends the counter to 64 bits */
    },
    .irq = {[0 ... MCUGEN_SOC_IRQ_COUNT - 1] = MCUGEN_UNUSED}, /* GNU C range designator */
};

/* The reset handler proper, entered with the stack pointer set. */
static void __attribute__((noreturn, used)) mcugen_reset(void);

/* Entered from reset, or from a bootloader (OpenMV's jumps to the reset vector without
 * loading the stack pointer or VTOR): set the main stack pointer first, before any C
 * code can use the stack, then continue in C. */
__attribute__((naked)) void mcugen_reset_handler(void)
{
    __asm volatile("ldr r0, =__mcugen_stack_top\n\t"
                   "msr msp, r0\n\t"
                   "b mcugen_reset\n\t"
                   ".ltorg");
}

static void mcugen_reset(void)
{
    /* The FPU first: with -mfloat-abi=hard the compiler may use FP registers in
     * any function, and an FP instruction with CP10/CP11 disabled is a UsageFault
     * (NOCP). Full access for both, then barriers so the next instruction sees it. */
    MCUGEN_SCB->CPACR |= (3u << 20) | (3u << 22);
    mcugen_dsb();
    mcugen_isb();

    /* Point VTOR at our table explicitly: some parts boot from an alias of flash
     * at 0 (STM32), and the table's real address is the one that stays valid. */
    MCUGEN_SCB->VTOR = (uint32_t)(uintptr_t)&mcugen_vectors;

    /* Initialised globals: copy their image from code memory into RAM. */
    size_t data_bytes = (size_t)((uint8_t *)&__mcugen_data_end - (uint8_t *)&__mcugen_data_start);
    memcpy(&__mcugen_data_start, &__mcugen_data_load, data_bytes);
    /* Zero-initialised globals, the model's arena among them. */
    size_t bss_bytes = (size_t)((uint8_t *)&__mcugen_bss_end - (uint8_t *)&__mcugen_bss_start);
    memset(&__mcugen_bss_start, 0, bss_bytes);

    main();
    for (;;) {
    }
}

/* malloc's heap for newlib, bounded by the linker script's .heap section
 * ([firmware] heap_bytes in the board file; mcugen's own code never allocates).
 * Replaces libnosys's _sbrk, which grows without limit into the stack. */
void *_sbrk(ptrdiff_t increment)
{
    static uint8_t *brk = &__mcugen_heap_start;
    if (increment > &__mcugen_heap_end - brk || increment < &__mcugen_heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    uint8_t *previous = brk;
    brk += increment;
    return previous;
}
