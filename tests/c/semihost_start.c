/* A bare Cortex-M start for tests/c/simd_check.c on the emulated boards: vector
 * table, .data/.bss set-up, FPU on, then simd_check_main; text and the exit status
 * go to the host through Arm semihosting (QEMU -semihosting-config enable=on). */
#include <stdint.h>

extern uint32_t __stack_top, __data_start__, __data_end__, __data_load__, __bss_start__, __bss_end__;
int simd_check_main(unsigned long rounds);

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int semihost(int operation, const void *argument)
{
    register int r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void simd_check_print(const char *text)
{
    semihost(SYS_WRITE0, text);
}

static void reset(void)
{
    const uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10/CP11 full access */
#endif
    const int failed = simd_check_main(SIMD_CHECK_ROUNDS);
    /* AArch32 SYS_EXIT takes only a reason: "application exit" passes, "runtime error" fails. */
    semihost(SYS_EXIT, (const void *)(uintptr_t)(failed ? 0x20023u : ADP_STOPPED_APPLICATION_EXIT));
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) const void *const vectors[2] = {&__stack_top, (const void *)reset};
