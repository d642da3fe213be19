/* OpenMV Cam H7 (STM32H743VI) port: power and clocks, caches, the serial link on
 * USART3 (PB10 TX, PB11 RX, header pins P4/P5; received through DMA1 stream 0 into a
 * ring in RAM) and the board's LEDs.
 *
 * Clock tree (RM0433 "Reset and clock control"; values as OpenMV's OPENMV4 board
 * uses them, see README.md):
 *
 *   HSE 12 MHz crystal -> DIVM1 /3 -> 4 MHz reference (PLL1RGE 4..8 MHz, wide VCO)
 *   -> DIVN1 x240 -> VCO 960 MHz -> DIVP1 /2 -> 480 MHz SYSCLK (DIVQ1 /20 = 48 MHz, unused here)
 *   SYSCLK -> D1CPRE /1 -> CPU 480 MHz -> HPRE /2 -> AXI/AHB 240 MHz
 *   AHB -> /2 each -> APB1 120 MHz (USART3, I2C1 kernel clocks), APB2 120 MHz
 *   (TIM1 at 240 MHz: timers run at twice a divided APB clock), APB3 and APB4 120 MHz.
 *
 * 480 MHz needs voltage scale 0 (VOS0), which only revision V silicon has: VOS1
 * first, then SYSCFG_PWRCR.ODEN. Revision Y parts (the earliest OpenMV Cam H7s)
 * top out at 400 MHz in VOS1; on those this port sets DIVN1 to 200 (400 MHz CPU,
 * 200 MHz AHB, 100 MHz APB) and says so on the serial link. If the crystal does
 * not start, the core stays on the 64 MHz HSI and says that instead. Either way
 * every peripheral divider comes from the clock registers as they are, so the
 * serial link keeps its baud rate.
 *
 * mcugen_soc_init must be safe to call twice (the fault reporter calls it again):
 * a clock tree that is already this one is left alone, and so are caches that are
 * already on. OpenMV's bootloader runs before us and may leave its own clock tree
 * (also PLL1 from HSE) running; the core is moved to HSI before PLL1 is touched,
 * because a PLL may not be reconfigured while it clocks the system.
 */
#include "mcugen_board.h"
#include "mcugen_cortexm.h"
#include "mcugen_port.h"
#include "mcugen_soc.h"

#define MCUGEN_H7_HSE_HZ 12000000u
#define MCUGEN_H7_HSI_HZ 64000000u
#define MCUGEN_H7_CSI_HZ 4000000u

/* PLL1 factors (each register field holds the factor - 1). */
#define MCUGEN_H7_PLL1_M 3u
#define MCUGEN_H7_PLL1_N_REV_V 240u /* 960 MHz VCO -> 480 MHz */
#define MCUGEN_H7_PLL1_N_REV_Y 200u /* 800 MHz VCO -> 400 MHz */
#define MCUGEN_H7_PLL1_P 2u
#define MCUGEN_H7_PLL1_Q 20u
#define MCUGEN_H7_PLL1_R 2u /* output not enabled */

/* Bus prescalers: D1CPRE /1 (0), HPRE /2 (0b1000), D1PPRE, D2PPRE1/2, D3PPRE /2 (0b100). */
#define MCUGEN_H7_D1CFGR ((0u << 8) | (4u << 4) | (8u << 0))
#define MCUGEN_H7_D2CFGR ((4u << 8) | (4u << 4))
#define MCUGEN_H7_D3CFGR (4u << 4)
#define MCUGEN_H7_D1CFGR_MASK ((0xFu << 8) | (7u << 4) | (0xFu << 0))
#define MCUGEN_H7_D2CFGR_MASK ((7u << 8) | (7u << 4))
#define MCUGEN_H7_D3CFGR_MASK (7u << 4)

/* Flash wait states for the AXI clock (RM0433 "FLASH recommended number of wait
 * states and programming delay"): 225..240 MHz in VOS0 needs 4 wait states,
 * 185..210 MHz in VOS1 needs 2; both with WRHIGHFREQ = 2. OpenMV's firmware uses 2
 * at 240 MHz; this port keeps to the manual's table (see README.md). */
#define MCUGEN_H7_FLASH_LATENCY_REV_V 4u
#define MCUGEN_H7_FLASH_LATENCY_REV_Y 2u
#define MCUGEN_H7_FLASH_WRHIGHFREQ 2u

/* Polls of a ready flag before giving up: at least ~100 ms even on the 64 MHz HSI
 * (each poll is a peripheral read of several cycles). Oscillators and the PLL are
 * ready in well under 10 ms when they work at all. */
#define MCUGEN_H7_SPIN_LIMIT 2000000u

/* USART3 (PB10 TX, PB11 RX): alternate function 7 (DS12110 alternate function table). */
#define MCUGEN_H7_UART_AF 7u
#define MCUGEN_H7_UART_TX_PIN 10u
#define MCUGEN_H7_UART_RX_PIN 11u

/* What the clock setup did this time, for one line on the serial link once it is up. */
typedef enum {
    MCUGEN_H7_CLOCK_KEPT,    /* already ours: nothing touched */
    MCUGEN_H7_CLOCK_SET,     /* set to 480 MHz */
    MCUGEN_H7_CLOCK_REV_Y,   /* set to 400 MHz: revision Y silicon */
    MCUGEN_H7_CLOCK_NO_HSE,  /* HSE did not start: running on HSI */
    MCUGEN_H7_CLOCK_NO_PLL,  /* PLL1 did not lock or the switch failed: running on HSI */
} mcugen_h7_clock_result_t;

static int mcugen_h7_wait(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t left = MCUGEN_H7_SPIN_LIMIT; left; left--) {
        if ((*reg & mask) == value) {
            return 1;
        }
    }
    return 0;
}

/* ---- the clock tree as the registers describe it ---- */

static uint32_t mcugen_h7_ahb_divider(uint32_t field)
{
    static const uint16_t dividers[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    return (field & 8u) ? dividers[field & 7u] : 1u;
}

static uint32_t mcugen_h7_apb_divider(uint32_t field)
{
    return (field & 4u) ? (2u << (field & 3u)) : 1u;
}

static uint32_t mcugen_h7_hsi_hz(void)
{
    return MCUGEN_H7_HSI_HZ >> ((MCUGEN_H7_RCC->CR >> MCUGEN_RCC_CR_HSIDIV_SHIFT) & 3u);
}

uint32_t mcugen_h7_sysclk_hz(void)
{
    switch ((MCUGEN_H7_RCC->CFGR >> MCUGEN_RCC_CFGR_SWS_SHIFT) & 7u) {
    case MCUGEN_RCC_SYSCLK_HSI: return mcugen_h7_hsi_hz();
    case MCUGEN_RCC_SYSCLK_CSI: return MCUGEN_H7_CSI_HZ;
    case MCUGEN_RCC_SYSCLK_HSE: return MCUGEN_H7_HSE_HZ;
    case MCUGEN_RCC_SYSCLK_PLL1: {
        uint32_t cksel = MCUGEN_H7_RCC->PLLCKSELR;
        uint32_t m = (cksel & MCUGEN_RCC_DIVM1_MASK) >> MCUGEN_RCC_DIVM1_SHIFT;
        uint32_t source = (cksel & MCUGEN_RCC_PLLSRC_MASK) == MCUGEN_RCC_PLLSRC_HSE   ? MCUGEN_H7_HSE_HZ
                          : (cksel & MCUGEN_RCC_PLLSRC_MASK) == MCUGEN_RCC_PLLSRC_CSI ? MCUGEN_H7_CSI_HZ
                                                                                     : mcugen_h7_hsi_hz();
        uint32_t divr = MCUGEN_H7_RCC->PLL1DIVR;
        uint32_t n = (divr & 0x1FFu) + 1u;
        uint32_t p = ((divr >> 9) & 0x7Fu) + 1u;
        if (m == 0u) {
            return 0u; /* DIVM1 = 0 disables the PLL's input */
        }
        return (uint32_t)((uint64_t)source / m * n / p);
    }
    default: return MCUGEN_H7_HSI_HZ;
    }
}

static uint32_t mcugen_h7_cpu_hz(void)
{
    return mcugen_h7_sysclk_hz() / mcugen_h7_ahb_divider((MCUGEN_H7_RCC->D1CFGR >> 8) & 0xFu);
}

uint32_t mcugen_h7_hclk_hz(void)
{
    return mcugen_h7_cpu_hz() / mcugen_h7_ahb_divider(MCUGEN_H7_RCC->D1CFGR & 0xFu);
}

uint32_t mcugen_h7_pclk1_hz(void)
{
    return mcugen_h7_hclk_hz() / mcugen_h7_apb_divider((MCUGEN_H7_RCC->D2CFGR >> 4) & 7u);
}

uint32_t mcugen_h7_tim_apb2_hz(void)
{
    /* RM0433 "Kernel clock selection": with TIMPRE = 0 a timer runs at the APB clock
     * when the APB prescaler is 1, else at twice it; with TIMPRE = 1 at the AHB clock
     * up to /4, else at four times the APB clock. */
    uint32_t divider = mcugen_h7_apb_divider((MCUGEN_H7_RCC->D2CFGR >> 8) & 7u);
    uint32_t hclk = mcugen_h7_hclk_hz();
    if (MCUGEN_H7_RCC->CFGR & MCUGEN_RCC_CFGR_TIMPRE) {
        return divider <= 4u ? hclk : hclk / divider * 4u;
    }
    return divider == 1u ? hclk : hclk / divider * 2u;
}

void mcugen_h7_delay_us(uint32_t us)
{
    /* The cycle counter may not run yet (mcugen_counter_init comes after
     * mcugen_soc_init): start it without resetting it. */
    if (!(MCUGEN_DWT->CTRL & 1u)) {
        MCUGEN_DEMCR |= MCUGEN_DEMCR_TRCENA;
        MCUGEN_DWT->LAR = 0xC5ACCE55u;
        MCUGEN_DWT->CTRL |= 1u;
    }
    uint32_t cycles_per_us = mcugen_h7_cpu_hz() / 1000000u;
    while (us) {
        uint32_t chunk = us > 1000u ? 1000u : us; /* 1 ms at a time: no wrap to think about */
        uint32_t cycles = chunk * cycles_per_us;
        uint32_t start = MCUGEN_DWT->CYCCNT;
        /* Bounded even if CYCCNT were stopped: every pass takes at least a cycle. */
        for (uint32_t left = cycles; left && (MCUGEN_DWT->CYCCNT - start) < cycles; left--) {
        }
        us -= chunk;
    }
}

/* ---- power and clocks ---- */

static int mcugen_h7_is_rev_y(void)
{
    return (MCUGEN_H7_DBGMCU_IDC >> 16) == MCUGEN_H7_REV_ID_Y;
}

static uint32_t mcugen_h7_pll1divr(uint32_t n)
{
    return (n - 1u) | ((MCUGEN_H7_PLL1_P - 1u) << 9) | ((MCUGEN_H7_PLL1_Q - 1u) << 16) | ((MCUGEN_H7_PLL1_R - 1u) << 24);
}

static int mcugen_h7_clock_is_ours(int rev_y)
{
    mcugen_h7_rcc_t *rcc = MCUGEN_H7_RCC;
    uint32_t n = rev_y ? MCUGEN_H7_PLL1_N_REV_Y : MCUGEN_H7_PLL1_N_REV_V;
    uint32_t latency = rev_y ? MCUGEN_H7_FLASH_LATENCY_REV_Y : MCUGEN_H7_FLASH_LATENCY_REV_V;
    return ((rcc->CFGR >> MCUGEN_RCC_CFGR_SWS_SHIFT) & 7u) == MCUGEN_RCC_SYSCLK_PLL1 &&
           (rcc->PLLCKSELR & (MCUGEN_RCC_PLLSRC_MASK | MCUGEN_RCC_DIVM1_MASK)) ==
               (MCUGEN_RCC_PLLSRC_HSE | (MCUGEN_H7_PLL1_M << MCUGEN_RCC_DIVM1_SHIFT)) &&
           rcc->PLL1DIVR == mcugen_h7_pll1divr(n) &&
           (rcc->D1CFGR & MCUGEN_H7_D1CFGR_MASK) == MCUGEN_H7_D1CFGR &&
           (rcc->D2CFGR & MCUGEN_H7_D2CFGR_MASK) == MCUGEN_H7_D2CFGR &&
           (rcc->D3CFGR & MCUGEN_H7_D3CFGR_MASK) == MCUGEN_H7_D3CFGR &&
           (MCUGEN_H7_FLASH->ACR & MCUGEN_FLASH_ACR_LATENCY_MASK) == latency &&
           (rev_y || (MCUGEN_H7_SYSCFG->PWRCR & MCUGEN_SYSCFG_PWRCR_ODEN));
}

static mcugen_h7_clock_result_t mcugen_h7_clock_init(void)
{
    mcugen_h7_rcc_t *rcc = MCUGEN_H7_RCC;
    int rev_y = mcugen_h7_is_rev_y();

    if (mcugen_h7_clock_is_ours(rev_y)) {
        return MCUGEN_H7_CLOCK_KEPT;
    }

    /* 1. Run from HSI while PLL1 is reconfigured (it may be what clocks us now,
     * left by OpenMV's bootloader). Flash wait states only ever go up before the
     * clock does, so the current setting is safe for 64 MHz. */
    rcc->CR |= MCUGEN_RCC_CR_HSION;
    (void)mcugen_h7_wait(&rcc->CR, MCUGEN_RCC_CR_HSIRDY, MCUGEN_RCC_CR_HSIRDY);
    rcc->CFGR = (rcc->CFGR & ~MCUGEN_RCC_CFGR_SW_MASK) | MCUGEN_RCC_SYSCLK_HSI;
    (void)mcugen_h7_wait(&rcc->CFGR, 7u << MCUGEN_RCC_CFGR_SWS_SHIFT, MCUGEN_RCC_SYSCLK_HSI << MCUGEN_RCC_CFGR_SWS_SHIFT);
    rcc->CR &= ~MCUGEN_RCC_CR_PLL1ON;
    (void)mcugen_h7_wait(&rcc->CR, MCUGEN_RCC_CR_PLL1RDY, 0u);

    /* 2. Supply: the H743 (no SMPS) runs its core from the internal LDO. PWR_CR3's
     * supply bits can be written once after power-on, while SCUEN is set: select
     * the LDO (LDOEN, not BYPASS) and clear SCUEN to lock it. If a bootloader has
     * locked it already the write changes nothing. Then wait until the supply
     * configuration is in effect (ACTVOSRDY). */
    if (MCUGEN_H7_PWR->CR3 & MCUGEN_PWR_CR3_SCUEN) {
        MCUGEN_H7_PWR->CR3 = (MCUGEN_H7_PWR->CR3 & ~(MCUGEN_PWR_CR3_BYPASS | MCUGEN_PWR_CR3_SCUEN)) | MCUGEN_PWR_CR3_LDOEN;
    }
    (void)mcugen_h7_wait(&MCUGEN_H7_PWR->CSR1, MCUGEN_PWR_CSR1_ACTVOSRDY, MCUGEN_PWR_CSR1_ACTVOSRDY);

    /* 3. Voltage scale before frequency (RM0433 "Voltage scaling"): VOS1, and on
     * revision V then VOS0 through the overdrive bit in SYSCFG (which needs its
     * own clock). VOSRDY tells when each step has settled. */
    if ((MCUGEN_H7_PWR->D3CR & MCUGEN_PWR_D3CR_VOS_MASK) != MCUGEN_PWR_D3CR_VOS_SCALE1) {
        MCUGEN_H7_PWR->D3CR = (MCUGEN_H7_PWR->D3CR & ~MCUGEN_PWR_D3CR_VOS_MASK) | MCUGEN_PWR_D3CR_VOS_SCALE1;
        (void)mcugen_h7_wait(&MCUGEN_H7_PWR->D3CR, MCUGEN_PWR_D3CR_VOSRDY, MCUGEN_PWR_D3CR_VOSRDY);
    }
    if (!rev_y) {
        rcc->APB4ENR |= MCUGEN_RCC_APB4ENR_SYSCFGEN;
        (void)rcc->APB4ENR; /* the write has reached RCC before SYSCFG is accessed */
        if (!(MCUGEN_H7_SYSCFG->PWRCR & MCUGEN_SYSCFG_PWRCR_ODEN)) {
            MCUGEN_H7_SYSCFG->PWRCR |= MCUGEN_SYSCFG_PWRCR_ODEN;
            (void)mcugen_h7_wait(&MCUGEN_H7_PWR->D3CR, MCUGEN_PWR_D3CR_VOSRDY, MCUGEN_PWR_D3CR_VOSRDY);
        }
    }

    /* 4. The 12 MHz crystal. HSEBYP may only change while HSE is off; a crystal
     * (not an external clock) wants it clear. */
    if (!(rcc->CR & MCUGEN_RCC_CR_HSEON)) {
        rcc->CR &= ~MCUGEN_RCC_CR_HSEBYP;
        rcc->CR |= MCUGEN_RCC_CR_HSEON;
    }
    if (!mcugen_h7_wait(&rcc->CR, MCUGEN_RCC_CR_HSERDY, MCUGEN_RCC_CR_HSERDY)) {
        return MCUGEN_H7_CLOCK_NO_HSE;
    }

    /* 5. Bus prescalers while still on 64 MHz HSI, so that no bus ever exceeds its
     * limit (VOS0: CPU 480, AHB/AXI 240, APB 120 MHz). */
    rcc->D1CFGR = (rcc->D1CFGR & ~MCUGEN_H7_D1CFGR_MASK) | MCUGEN_H7_D1CFGR;
    rcc->D2CFGR = (rcc->D2CFGR & ~MCUGEN_H7_D2CFGR_MASK) | MCUGEN_H7_D2CFGR;
    rcc->D3CFGR = (rcc->D3CFGR & ~MCUGEN_H7_D3CFGR_MASK) | MCUGEN_H7_D3CFGR;

    /* 6. Flash wait states for the new AXI clock, read back before going faster. */
    uint32_t latency = rev_y ? MCUGEN_H7_FLASH_LATENCY_REV_Y : MCUGEN_H7_FLASH_LATENCY_REV_V;
    MCUGEN_H7_FLASH->ACR = (MCUGEN_H7_FLASH->ACR & ~(MCUGEN_FLASH_ACR_LATENCY_MASK | MCUGEN_FLASH_ACR_WRHIGHFREQ_MASK)) |
                           latency | (MCUGEN_H7_FLASH_WRHIGHFREQ << MCUGEN_FLASH_ACR_WRHIGHFREQ_SHIFT);
    (void)mcugen_h7_wait(&MCUGEN_H7_FLASH->ACR, MCUGEN_FLASH_ACR_LATENCY_MASK, latency);

    /* 7. PLL1 from HSE: reference 4 MHz (range 4..8 MHz), wide VCO, integer mode,
     * P and Q outputs on. */
    rcc->PLLCKSELR = (rcc->PLLCKSELR & ~(MCUGEN_RCC_PLLSRC_MASK | MCUGEN_RCC_DIVM1_MASK)) | MCUGEN_RCC_PLLSRC_HSE |
                     (MCUGEN_H7_PLL1_M << MCUGEN_RCC_DIVM1_SHIFT);
    rcc->PLLCFGR = (rcc->PLLCFGR & ~MCUGEN_RCC_PLLCFGR_PLL1_MASK) | MCUGEN_RCC_PLLCFGR_PLL1RGE_4_8MHZ |
                   MCUGEN_RCC_PLLCFGR_DIVP1EN | MCUGEN_RCC_PLLCFGR_DIVQ1EN;
    rcc->PLL1DIVR = mcugen_h7_pll1divr(rev_y ? MCUGEN_H7_PLL1_N_REV_Y : MCUGEN_H7_PLL1_N_REV_V);
    rcc->PLL1FRACR = 0u;
    rcc->CR |= MCUGEN_RCC_CR_PLL1ON;
    if (!mcugen_h7_wait(&rcc->CR, MCUGEN_RCC_CR_PLL1RDY, MCUGEN_RCC_CR_PLL1RDY)) {
        return MCUGEN_H7_CLOCK_NO_PLL;
    }

    /* 8. Switch. TIMPRE stays 0: timers at twice their divided APB clock. */
    rcc->CFGR = (rcc->CFGR & ~(MCUGEN_RCC_CFGR_SW_MASK | MCUGEN_RCC_CFGR_TIMPRE)) | MCUGEN_RCC_SYSCLK_PLL1;
    if (!mcugen_h7_wait(&rcc->CFGR, 7u << MCUGEN_RCC_CFGR_SWS_SHIFT, MCUGEN_RCC_SYSCLK_PLL1 << MCUGEN_RCC_CFGR_SWS_SHIFT)) {
        return MCUGEN_H7_CLOCK_NO_PLL;
    }
    return rev_y ? MCUGEN_H7_CLOCK_REV_Y : MCUGEN_H7_CLOCK_SET;
}

/* ---- caches ---- */

static void mcugen_h7_cache_init(void)
{
    mcugen_scb_t *scb = MCUGEN_SCB;

    /* I-cache: invalidate, then enable (barriers around both, as the Cortex-M7
     * TRM's enable sequence asks). Skipped if on: invalidating is harmless, but
     * there is nothing to gain. */
    if (!(scb->CCR & MCUGEN_SCB_CCR_IC)) {
        mcugen_dsb();
        mcugen_isb();
        MCUGEN_H7_CACHE->ICIALLU = 0u;
        mcugen_dsb();
        mcugen_isb();
        scb->CCR |= MCUGEN_SCB_CCR_IC;
        mcugen_dsb();
        mcugen_isb();
    }

    /* D-cache: its contents are undefined after reset, so invalidate every line
     * by set and way first. Never when already on: that would throw away dirty
     * lines (data not yet written to memory). */
    if (!(scb->CCR & MCUGEN_SCB_CCR_DC)) {
        MCUGEN_H7_CACHE_ID->CSSELR = 0u; /* level 1 data cache */
        mcugen_dsb();
        uint32_t ccsidr = MCUGEN_H7_CACHE_ID->CCSIDR;
        uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
        uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
        uint32_t line_shift = (ccsidr & 7u) + 4u; /* log2(line bytes) */
        uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
        for (uint32_t set = 0; set < sets; set++) {
            for (uint32_t way = 0; way < ways; way++) {
                MCUGEN_H7_CACHE->DCISW = (ways > 1u ? (way << way_shift) : 0u) | (set << line_shift);
            }
        }
        mcugen_dsb();
        scb->CCR |= MCUGEN_SCB_CCR_DC;
        mcugen_dsb();
        mcugen_isb();
    }
}

static void mcugen_h7_dcache_by_line(volatile uint32_t *operation, const void *address, uint32_t bytes)
{
    uintptr_t start = (uintptr_t)address & ~(uintptr_t)(MCUGEN_H7_DCACHE_LINE - 1u);
    uintptr_t end = (uintptr_t)address + bytes;
    mcugen_dsb();
    for (uintptr_t line = start; line < end; line += MCUGEN_H7_DCACHE_LINE) {
        *operation = (uint32_t)line;
    }
    mcugen_dsb();
    mcugen_isb();
}

void mcugen_h7_dcache_clean_invalidate(const void *address, uint32_t bytes)
{
    mcugen_h7_dcache_by_line(&MCUGEN_H7_CACHE->DCCIMVAC, address, bytes);
}

void mcugen_h7_dcache_invalidate(const void *address, uint32_t bytes)
{
    mcugen_h7_dcache_by_line(&MCUGEN_H7_CACHE->DCIMVAC, address, bytes);
}

/* ---- pins ---- */

void mcugen_h7_gpio_config(uint32_t port, uint32_t pin, uint32_t mode, uint32_t af, uint32_t speed)
{
    mcugen_h7_gpio_t *gpio = MCUGEN_H7_GPIO(port);
    MCUGEN_H7_RCC->AHB4ENR |= MCUGEN_RCC_AHB4ENR_GPIO(port);
    (void)MCUGEN_H7_RCC->AHB4ENR; /* the clock is on before the port is written */

    /* Alternate function and electrical settings first, the mode last, so the pin
     * never drives with the wrong function in between. */
    uint32_t afr_shift = (pin & 7u) * 4u;
    gpio->AFR[pin >> 3] = (gpio->AFR[pin >> 3] & ~(0xFu << afr_shift)) | ((af & 0xFu) << afr_shift);
    gpio->OTYPER &= ~(1u << pin);
    gpio->OSPEEDR = (gpio->OSPEEDR & ~(3u << (pin * 2u))) | ((speed & 3u) << (pin * 2u));
    gpio->PUPDR &= ~(3u << (pin * 2u));
    gpio->MODER = (gpio->MODER & ~(3u << (pin * 2u))) | ((mode & 3u) << (pin * 2u));
}

/* ---- LEDs: the board file's [[leds]], through mcugen_board_config.h ---- */

#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
static const mcugen_led_pin_t mcugen_h7_leds[MCUGEN_BOARD_LED_COUNT] = MCUGEN_BOARD_LED_PINS;

static int mcugen_h7_led_port(unsigned index, uint32_t *port)
{
    char letter = mcugen_h7_leds[index].port;
    if (letter < 'A' || letter >= (char)('A' + MCUGEN_H7_PORT_COUNT) || mcugen_h7_leds[index].pin > 15u) {
        return 0; /* not a pin of this chip: ignored rather than writing somewhere else */
    }
    *port = (uint32_t)(letter - 'A');
    return 1;
}
#endif

void mcugen_soc_led_write(unsigned index, int on)
{
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    uint32_t port;
    if (index >= MCUGEN_BOARD_LED_COUNT || !mcugen_h7_led_port(index, &port)) {
        return;
    }
    uint32_t pin = mcugen_h7_leds[index].pin;
    int high = (on != 0) != (mcugen_h7_leds[index].active_low != 0);
    MCUGEN_H7_GPIO(port)->BSRR = high ? (1u << pin) : (1u << (pin + 16u));
#else
    (void)index;
    (void)on;
#endif
}

static void mcugen_h7_led_init(void)
{
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    for (unsigned i = 0; i < MCUGEN_BOARD_LED_COUNT; i++) {
        uint32_t port;
        if (!mcugen_h7_led_port(i, &port)) {
            continue;
        }
        MCUGEN_H7_RCC->AHB4ENR |= MCUGEN_RCC_AHB4ENR_GPIO(port);
        (void)MCUGEN_H7_RCC->AHB4ENR;
        mcugen_soc_led_write(i, 0); /* the off level is in ODR before the pin drives */
        mcugen_h7_gpio_config(port, mcugen_h7_leds[i].pin, 1u, 0u, 0u);
    }
#endif
}

/* ---- the serial link: USART3 ---- */

static void mcugen_h7_uart_init(void)
{
    mcugen_h7_usart_t *uart = MCUGEN_H7_USART3;
    uint32_t pclk1 = mcugen_h7_pclk1_hz();
    /* 16x oversampling: BRR = kernel clock / baud, rounded (120 MHz / 115200 -> 1042,
     * 0.03 % fast). The kernel clock is rcc_pclk1 (USART234578SEL = 0, the reset value). */
    uint32_t brr = (pclk1 + MCUGEN_BOARD_UART_BAUD / 2u) / MCUGEN_BOARD_UART_BAUD;
    uint32_t enabled = MCUGEN_USART_CR1_UE | MCUGEN_USART_CR1_TE | MCUGEN_USART_CR1_RE;

    MCUGEN_H7_RCC->APB1LENR |= MCUGEN_RCC_APB1LENR_USART3EN;
    (void)MCUGEN_H7_RCC->APB1LENR;

    mcugen_h7_gpio_config(MCUGEN_H7_PORT_B, MCUGEN_H7_UART_TX_PIN, 2u, MCUGEN_H7_UART_AF, 1u);
    mcugen_h7_gpio_config(MCUGEN_H7_PORT_B, MCUGEN_H7_UART_RX_PIN, 2u, MCUGEN_H7_UART_AF, 1u);
    /* RX pulled up: a floating line (no adapter plugged in) must not read as start bits. */
    MCUGEN_H7_GPIO(MCUGEN_H7_PORT_B)->PUPDR =
        (MCUGEN_H7_GPIO(MCUGEN_H7_PORT_B)->PUPDR & ~(3u << (MCUGEN_H7_UART_RX_PIN * 2u))) | (1u << (MCUGEN_H7_UART_RX_PIN * 2u));

    /* Already running as wanted (a second call, from the fault reporter): leave it,
     * so a byte on its way out is not cut short. */
    if ((uart->CR1 & enabled) == enabled && uart->BRR == brr &&
        (MCUGEN_H7_RCC->D2CCIP2R & MCUGEN_RCC_D2CCIP2R_USART234578SEL_MASK) == 0u) {
        return;
    }
    if (uart->CR1 & MCUGEN_USART_CR1_UE) {
        (void)mcugen_h7_wait(&uart->ISR, MCUGEN_USART_ISR_TC, MCUGEN_USART_ISR_TC);
    }
    uart->CR1 = 0u; /* UE = 0: BRR, PRESC and the frame format are writable only now */
    MCUGEN_H7_RCC->D2CCIP2R &= ~MCUGEN_RCC_D2CCIP2R_USART234578SEL_MASK;
    uart->CR2 = 0u;   /* one stop bit */
    uart->CR3 = 0u;   /* no flow control; DMAR is set again by mcugen_h7_rx_init */
    uart->PRESC = 0u; /* kernel clock / 1 */
    uart->BRR = brr;
    uart->ICR = MCUGEN_USART_ICR_ERRORS;
    /* 8N1, FIFO off (RXNE/TXE then mean one byte, as the code below assumes). */
    uart->CR1 = enabled;
}

/* ---- receiving: USART3 -> DMA1 stream 0 -> a ring in RAM ----
 *
 * USART3 holds one received byte, and at 115200 baud the next one comes 87 us later,
 * while the application may not look for tens of milliseconds (a camera frame, an
 * inference): polled, the bytes in between are lost. So the receiver's DMA request
 * (CR3.DMAR) drives a DMA stream in circular mode that copies every byte from RDR into
 * mcugen_h7_rx_ring as it arrives, with no interrupt at all. NDTR (items left before the
 * stream wraps to the start again) says how far the DMA has written; the reader keeps
 * its own index, mcugen_h7_rx_tail. Only a backlog of a whole ring (512 bytes, 44 ms of
 * continuous traffic) unread can still lose bytes, and then silently (the DMA laps the
 * reader; nothing counts laps).
 *
 * Stream: DMA2 stream 1 is the DCMI's (mcugen_camera_ov7725.c). DMA1 stream 0 is unused
 * in this port; DMAMUX1 channel 0 feeds it (channels 0..7 are DMA1 streams 0..7) and is
 * set to request 45, usart3_rx_dma (RM0433 DMAMUX1 request table). Priority low: the
 * DCMI's stream (high) must win arbitration, a USART byte can wait a few bus cycles.
 * Byte-wide on both sides, direct mode (no FIFO), TRBUFF set (see mcugen_soc.h).
 *
 * Memory: DMA1 lives in the D2 domain; it reaches AXI SRAM and the D2/D3 SRAMs but not
 * DTCM (0x20000000). The ring is an ordinary static, so it goes to .bss, which the shared
 * linker script (templates/ports/cortexm/mcugen.ld.j2) places in the board's arena
 * region: AXI SRAM at 0x24000000 here.
 *
 * D-cache: AXI SRAM is write-back cacheable and mcugen_h7_cache_init turns the D-cache
 * on, while the DMA writes memory behind the cache. Chosen: invalidate by address. The
 * CPU never writes the ring, so its lines are never dirty (the one exception, lines the
 * startup code's zeroing of .bss may have left dirty if a bootloader left the D-cache
 * on, is cleaned and invalidated before the stream starts), and invalidating the 32-byte
 * line that holds the next byte just before reading it is always safe and makes that
 * read come from memory (the core may have fetched the line earlier, even
 * speculatively). The ring is 32-byte aligned and a whole number of lines, so no other
 * variable shares a line that gets invalidated. The cost, one maintenance write, a DSB
 * and a line fill per byte, is nothing at 11.5 kB/s. Not chosen: making the ring
 * non-cacheable with an MPU region; nothing else in mcugen programs the MPU, a region
 * must be a power of two aligned to its size, and the background map and the fault
 * handler would then have to agree with it.
 */
#define MCUGEN_H7_RX_RING_BYTES 512u
#define MCUGEN_H7_RX_STREAM 0u /* DMA1 stream 0 */
#define MCUGEN_H7_RX_CR                                                                                               \
    (MCUGEN_DMA_CR_DIR_P2M | MCUGEN_DMA_CR_CIRC | MCUGEN_DMA_CR_MINC | MCUGEN_DMA_CR_PSIZE_8 | MCUGEN_DMA_CR_MSIZE_8 | \
     MCUGEN_DMA_CR_PL_LOW | MCUGEN_DMA_CR_TRBUFF)

_Static_assert((MCUGEN_H7_RX_RING_BYTES & (MCUGEN_H7_RX_RING_BYTES - 1u)) == 0u,
               "the ring's size must be a power of two (indices wrap by masking)");
_Static_assert(MCUGEN_H7_RX_RING_BYTES % MCUGEN_H7_DCACHE_LINE == 0u,
               "the ring must be whole D-cache lines: invalidating one must not touch another variable");
_Static_assert(MCUGEN_H7_RX_RING_BYTES <= 65535u, "NDTR is 16 bits");

/* volatile: the compiler must not assume a never-written static stays zero. */
static volatile uint8_t mcugen_h7_rx_ring[MCUGEN_H7_RX_RING_BYTES] __attribute__((aligned(MCUGEN_H7_DCACHE_LINE)));
static uint32_t mcugen_h7_rx_tail; /* the next index to read */

static mcugen_h7_dma_stream_t *mcugen_h7_rx_stream(void)
{
    return &MCUGEN_H7_DMA1->S[MCUGEN_H7_RX_STREAM];
}

/* The stream is on, set up exactly as mcugen_h7_rx_start leaves it. */
static int mcugen_h7_rx_running(void)
{
    mcugen_h7_dma_stream_t *stream = mcugen_h7_rx_stream();
    return (MCUGEN_H7_RCC->AHB1ENR & MCUGEN_RCC_AHB1ENR_DMA1EN) && stream->CR == (MCUGEN_H7_RX_CR | MCUGEN_DMA_CR_EN) &&
           stream->PAR == (uint32_t)(uintptr_t)&MCUGEN_H7_USART3->RDR &&
           stream->M0AR == (uint32_t)(uintptr_t)mcugen_h7_rx_ring &&
           MCUGEN_H7_DMAMUX1->CCR[MCUGEN_DMAMUX1_CHANNEL_DMA1(MCUGEN_H7_RX_STREAM)] == MCUGEN_DMAMUX1_REQ_USART3_RX;
}

/* (Re)starts reception from an empty ring: RM0433's stream configuration order (stream
 * off and EN read back as 0, flags cleared, addresses, count, request, FIFO, control,
 * then EN), and the USART's DMA request last. Bytes not yet read are dropped. */
static void mcugen_h7_rx_start(void)
{
    mcugen_h7_usart_t *uart = MCUGEN_H7_USART3;
    mcugen_h7_dma_stream_t *stream = mcugen_h7_rx_stream();

    MCUGEN_H7_RCC->AHB1ENR |= MCUGEN_RCC_AHB1ENR_DMA1EN; /* DMA1, and with it DMAMUX1 */
    (void)MCUGEN_H7_RCC->AHB1ENR;

    uart->CR3 &= ~MCUGEN_USART_CR3_DMAR; /* no request while the stream is being set up */
    stream->CR &= ~MCUGEN_DMA_CR_EN;
    (void)mcugen_h7_wait(&stream->CR, MCUGEN_DMA_CR_EN, 0u); /* ends after the current beat */
    MCUGEN_H7_DMA1->LIFCR = MCUGEN_DMA_S0_ALL;               /* EN only sets with the flags clear */

    /* No dirty line may be written back over the DMA's bytes later (see above). */
    mcugen_h7_dcache_clean_invalidate((const void *)(uintptr_t)mcugen_h7_rx_ring, MCUGEN_H7_RX_RING_BYTES);
    mcugen_h7_rx_tail = 0u;

    stream->PAR = (uint32_t)(uintptr_t)&uart->RDR;
    stream->M0AR = (uint32_t)(uintptr_t)mcugen_h7_rx_ring;
    stream->NDTR = MCUGEN_H7_RX_RING_BYTES;
    MCUGEN_H7_DMAMUX1->CCR[MCUGEN_DMAMUX1_CHANNEL_DMA1(MCUGEN_H7_RX_STREAM)] = MCUGEN_DMAMUX1_REQ_USART3_RX; /* no sync, no events */
    stream->FCR = 0u; /* direct mode: each byte is stored as it is read */
    stream->CR = MCUGEN_H7_RX_CR;
    stream->CR |= MCUGEN_DMA_CR_EN;

    /* An overrun while nobody was reading would hold reception up: clear it, then let
     * RXNE request the DMA (a byte already waiting in RDR is taken at once). */
    uart->ICR = MCUGEN_USART_ICR_ERRORS;
    uart->CR3 |= MCUGEN_USART_CR3_DMAR;
}

/* A second call (the fault reporter's) finds the stream running as set up and leaves it
 * and the ring's contents alone; mcugen_h7_uart_init may have set the USART up again
 * (clearing CR3), so DMAR is set again either way. Anything else starts it afresh. */
static void mcugen_h7_rx_init(void)
{
    if (mcugen_h7_rx_running()) {
        MCUGEN_H7_USART3->CR3 |= MCUGEN_USART_CR3_DMAR;
        return;
    }
    mcugen_h7_rx_start();
}

static void mcugen_h7_uart_puts(const char *text)
{
    while (*text) {
        mcugen_soc_uart_write_byte((uint8_t)*text++);
    }
}

void mcugen_soc_init(void)
{
    mcugen_h7_clock_result_t clock = mcugen_h7_clock_init();
    mcugen_h7_cache_init();
    mcugen_h7_led_init();
    mcugen_h7_uart_init();
    mcugen_h7_rx_init();

    /* Said once on the serial link when the clock is not what the board file
     * claims (the host ignores text between protocol frames). */
    switch (clock) {
    case MCUGEN_H7_CLOCK_REV_Y: mcugen_h7_uart_puts("\r\nmcugen: STM32H743 revision Y: no VOS0, CPU at 400 MHz\r\n"); break;
    case MCUGEN_H7_CLOCK_NO_HSE: mcugen_h7_uart_puts("\r\nmcugen: HSE (12 MHz crystal) did not start: running on HSI\r\n"); break;
    case MCUGEN_H7_CLOCK_NO_PLL: mcugen_h7_uart_puts("\r\nmcugen: PLL1 did not lock: running on HSI\r\n"); break;
    default: break;
    }
}

void mcugen_soc_uart_write_byte(uint8_t byte)
{
    while (!(MCUGEN_H7_USART3->ISR & MCUGEN_USART_ISR_TXE)) {
    }
    MCUGEN_H7_USART3->TDR = byte;
}

/* An overrun (a byte arrived while RDR was full: with the DMA, only if the stream is
 * stopped or starved) stops reception until ORE is cleared; framing, noise and parity
 * flags are cleared with it. */
static void mcugen_h7_uart_clear_errors(void)
{
    if (MCUGEN_H7_USART3->ISR & (MCUGEN_USART_ISR_ORE | MCUGEN_USART_ISR_FE | MCUGEN_USART_ISR_NE | MCUGEN_USART_ISR_PE)) {
        MCUGEN_H7_USART3->ICR = MCUGEN_USART_ICR_ERRORS;
    }
}

int mcugen_soc_uart_poll_byte(uint8_t *byte)
{
    mcugen_h7_dma_stream_t *stream = mcugen_h7_rx_stream();
    mcugen_h7_uart_clear_errors();

    /* A transfer error turns the stream off (EN reads 0, TEIF set): start again. */
    if (!(stream->CR & MCUGEN_DMA_CR_EN)) {
        mcugen_h7_rx_start();
        return 0;
    }

    /* Where the DMA writes next. NDTR counts down from the ring's size and reloads in
     * circular mode; a 0 read at the reload instant masks to index 0 as well. */
    uint32_t head = (MCUGEN_H7_RX_RING_BYTES - stream->NDTR) & (MCUGEN_H7_RX_RING_BYTES - 1u);
    uint32_t tail = mcugen_h7_rx_tail & (MCUGEN_H7_RX_RING_BYTES - 1u);
    if (head == tail) {
        return 0;
    }
    /* The line holding the byte may be in the D-cache from before the DMA wrote it:
     * invalidate it (the helper's barriers also order this after the NDTR read). */
    mcugen_h7_dcache_invalidate((const void *)(uintptr_t)&mcugen_h7_rx_ring[tail], 1u);
    *byte = mcugen_h7_rx_ring[tail];
    mcugen_h7_rx_tail = (tail + 1u) & (MCUGEN_H7_RX_RING_BYTES - 1u);
    return 1;
}

uint8_t mcugen_soc_uart_read_byte(void)
{
    uint8_t byte;
    while (!mcugen_soc_uart_poll_byte(&byte)) {
    }
    return byte;
}
