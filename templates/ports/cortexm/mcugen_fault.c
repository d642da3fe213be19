/* Fault reporter: any fault or unexpected exception prints one line on the
 * serial link, then the core stops.
 *
 * The line names the exception and the faulting instruction (the stacked PC),
 * and decodes the fault status registers, so a crash on a board far away still
 * says where and why:
 *
 *   mcugen: HardFault (exception 3) pc=0x00000d2c lr=0x00000c41 psr=0x61000000
 *     cfsr=0x00008200 hfsr=0x40000000 bfar=0x60000000 [PRECISERR BFARVALID FORCED]
 *
 * The host sees text between protocol frames and ignores it as garbage, so it
 * cannot break framing; `mcugen bench` times out and shows the line.
 */
#include <stdint.h>

#include "mcugen_board.h"
#include "mcugen_cortexm.h"
#include "mcugen_port.h"

/* CFSR bits: MemManage (0..7), BusFault (8..15), UsageFault (16..31). HFSR: 30, 31. */
static const struct {
    uint32_t bit;
    const char *name;
} mcugen_cfsr_bits[] = {
    {1u << 0, "IACCVIOL"},  {1u << 1, "DACCVIOL"},     {1u << 3, "MUNSTKERR"},  {1u << 4, "MSTKERR"},
    {1u << 5, "MLSPERR"},   {1u << 7, "MMARVALID"},    {1u << 8, "IBUSERR"},    {1u << 9, "PRECISERR"},
    {1u << 10, "IMPRECISERR"}, {1u << 11, "UNSTKERR"}, {1u << 12, "STKERR"},    {1u << 13, "LSPERR"},
    {1u << 15, "BFARVALID"}, {1u << 16, "UNDEFINSTR"}, {1u << 17, "INVSTATE"},  {1u << 18, "INVPC"},
    {1u << 19, "NOCP"},     {1u << 24, "UNALIGNED"},   {1u << 25, "DIVBYZERO"},
};

static void mcugen_fault_puts(const char *text)
{
    while (*text) {
        mcugen_soc_uart_write_byte((uint8_t)*text++);
    }
}

static void mcugen_fault_hex(const char *label, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    char text[11] = {'0', 'x'};
    for (int i = 0; i < 8; i++) {
        text[2 + i] = digits[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    mcugen_fault_puts(label);
    mcugen_fault_puts(text);
}

static const char *mcugen_exception_name(uint32_t number)
{
    switch (number) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 11: return "SVCall";
    case 12: return "DebugMonitor";
    case 14: return "PendSV";
    case 15: return "SysTick";
    default: return number >= 16 ? "unexpected interrupt" : "unexpected exception";
    }
}

/* Called by mcugen_fault_entry with the exception's stack frame:
 * r0, r1, r2, r3, r12, lr, pc, xpsr. */
__attribute__((used, noreturn)) void mcugen_fault_report(const uint32_t *frame)
{
    uint32_t number = mcugen_ipsr();
    uint32_t cfsr = MCUGEN_SCB->CFSR;
    uint32_t hfsr = MCUGEN_SCB->HFSR;

    /* The fault may predate mcugen_board_init: bring the serial link up again. */
    mcugen_soc_init();
    mcugen_fault_puts("\r\nmcugen: ");
    mcugen_fault_puts(mcugen_exception_name(number));
    mcugen_fault_puts(" (exception ");
    char digits[4] = {(char)('0' + number / 100 % 10), (char)('0' + number / 10 % 10), (char)('0' + number % 10), 0};
    mcugen_fault_puts(number >= 100 ? digits : number >= 10 ? digits + 1 : digits + 2);
    mcugen_fault_puts(")");
    mcugen_fault_hex(" pc=", frame[6]);
    mcugen_fault_hex(" lr=", frame[5]);
    mcugen_fault_hex(" psr=", frame[7]);
    mcugen_fault_hex(" cfsr=", cfsr);
    mcugen_fault_hex(" hfsr=", hfsr);
    if (cfsr & (1u << 7)) {
        mcugen_fault_hex(" mmfar=", MCUGEN_SCB->MMFAR);
    }
    if (cfsr & (1u << 15)) {
        mcugen_fault_hex(" bfar=", MCUGEN_SCB->BFAR);
    }
    mcugen_fault_puts(" [");
    const char *separator = "";
    for (unsigned i = 0; i < sizeof mcugen_cfsr_bits / sizeof mcugen_cfsr_bits[0]; i++) {
        if (cfsr & mcugen_cfsr_bits[i].bit) {
            mcugen_fault_puts(separator);
            mcugen_fault_puts(mcugen_cfsr_bits[i].name);
            separator = " ";
        }
    }
    if (hfsr & (1u << 30)) {
        mcugen_fault_puts(separator);
        mcugen_fault_puts("FORCED");
        separator = " ";
    }
    if (hfsr & (1u << 1)) {
        mcugen_fault_puts(separator);
        mcugen_fault_puts("VECTTBL");
    }
    mcugen_fault_puts("] board " MCUGEN_BOARD_ID ", firmware " MCUGEN_FIRMWARE_BUILD_ID "\r\n");

    /* Stop here rather than reset: a deterministic fault would only repeat, and a
     * halted board keeps the line above as the last thing on the link. */
    for (;;) {
    }
}

/* Exception entry: find the stack the frame was pushed on (EXC_RETURN bit 2 says
 * MSP or PSP) and hand it to the reporter. Naked, so no prologue moves SP first. */
__attribute__((naked)) void mcugen_fault_entry(void)
{
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b mcugen_fault_report\n\t");
}
