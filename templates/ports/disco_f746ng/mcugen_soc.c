/* STM32F746G-DISCO port: 216 MHz from the 25 MHz HSE, L1 caches on, the serial link
 * on USART1 (TX PA9, RX PB7: the ST-LINK/V2-1 virtual COM port; received through DMA2
 * stream 5 into a ring in RAM), LEDs from the board file. The camera lives in
 * mcugen_camera_ov9655.c.
 *
 * Clock tree (RM0385 5.1 and 5.3, and the 32F746GDISCOVERY's 25 MHz HSE):
 *   HSE 25 MHz / M 25 = 1 MHz PLL input, * N 432 = 432 MHz VCO,
 *   / P 2 = 216 MHz SYSCLK = HCLK, / Q 9 = 48 MHz (USB, SDMMC; unused here),
 *   APB1 = HCLK / 4 = 54 MHz (its maximum), APB2 = HCLK / 2 = 108 MHz (its maximum).
 * Above 180 MHz the core regulator needs voltage scale 1 and over-drive, and the flash
 * needs 7 wait states at 2.7-3.6 V (RM0385 3.3.2, table 5); RM0385 4.1.4 gives the order:
 * PLL on, then over-drive, then wait states, then the switch.
 *
 * Nothing here has run on silicon: see README.md for what is unverified.
 */
#include "mcugen_board.h"
#include "mcugen_cortexm.h"
#include "mcugen_port.h"

#define MCUGEN_HSE_HZ 25000000u
#define MCUGEN_HSI_HZ 16000000u
#define MCUGEN_PLL_INPUT_HZ 1000000u /* VCO input: 1..2 MHz allowed */
#define MCUGEN_PLL_N 432u
#define MCUGEN_PLL_P 2u
#define MCUGEN_PLL_Q 9u
#define MCUGEN_SYSCLK_HZ (MCUGEN_PLL_INPUT_HZ * MCUGEN_PLL_N / MCUGEN_PLL_P)
#define MCUGEN_FLASH_WAIT_STATES 7u

/* APB prescaler codes in CFGR.PPREx: 0b100 = /2, 0b101 = /4. */
#define MCUGEN_PPRE_DIV2 4u
#define MCUGEN_PPRE_DIV4 5u

_Static_assert(MCUGEN_SYSCLK_HZ == MCUGEN_BOARD_CLOCK_HZ,
               "the PLL settings here give 216 MHz; the board file's clock_hz must match");
_Static_assert(MCUGEN_HSE_HZ % MCUGEN_PLL_INPUT_HZ == 0 && MCUGEN_HSI_HZ % MCUGEN_PLL_INPUT_HZ == 0,
               "PLLM must divide the oscillator down to exactly 1 MHz");

/* Before the clock is up there is no timer: waits count loop turns. At 16 MHz HSI a
 * turn takes a few cycles, so 2,000,000 turns is well over 100 ms, longer than any
 * oscillator start-up (HSE typically 2 ms) or regulator ramp in RM0385. */
#define MCUGEN_CLOCK_SPINS 2000000u

static int mcugen_wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t expected)
{
    for (uint32_t spin = 0; spin < MCUGEN_CLOCK_SPINS; spin++) {
        if ((*reg & mask) == expected) {
            return 1;
        }
    }
    return 0;
}

/* HSE as a crystal first (ST's and Zephyr's configuration for this board), then as an
 * external clock on OSC_IN (HSEBYP) in case the board revision has an oscillator there.
 * Returns the oscillator's frequency, or 0 if neither starts. */
static uint32_t mcugen_hse_start(void)
{
    for (int bypass = 0; bypass < 2; bypass++) {
        MCUGEN_RCC->CR &= ~MCUGEN_RCC_CR_HSEON;
        (void)mcugen_wait_bits(&MCUGEN_RCC->CR, MCUGEN_RCC_CR_HSERDY, 0);
        /* HSEBYP may only change while HSE is off. */
        if (bypass) {
            MCUGEN_RCC->CR |= MCUGEN_RCC_CR_HSEBYP;
        } else {
            MCUGEN_RCC->CR &= ~MCUGEN_RCC_CR_HSEBYP;
        }
        MCUGEN_RCC->CR |= MCUGEN_RCC_CR_HSEON;
        if (mcugen_wait_bits(&MCUGEN_RCC->CR, MCUGEN_RCC_CR_HSERDY, MCUGEN_RCC_CR_HSERDY)) {
            return MCUGEN_HSE_HZ;
        }
    }
    MCUGEN_RCC->CR &= ~(MCUGEN_RCC_CR_HSEON | MCUGEN_RCC_CR_HSEBYP);
    return 0;
}

/* 216 MHz, or, if a step fails, SYSCLK stays on the 16 MHz HSI it started on (the serial
 * link then still works: its divider is computed from the clock actually running). */
static void mcugen_clock_init(void)
{
    /* Already on the PLL: a second call (the fault handler's) must not pull the clock
     * from under a running system. The switch is the last step, so PLL = done. */
    if ((MCUGEN_RCC->CFGR & MCUGEN_RCC_CFGR_SWS_MASK) == MCUGEN_RCC_CFGR_SWS_PLL) {
        return;
    }

    /* Run from HSI while the PLL is (re)configured; PLLCFGR only takes writes with the PLL off. */
    MCUGEN_RCC->CR |= MCUGEN_RCC_CR_HSION;
    if (!mcugen_wait_bits(&MCUGEN_RCC->CR, MCUGEN_RCC_CR_HSIRDY, MCUGEN_RCC_CR_HSIRDY)) {
        return;
    }
    MCUGEN_RCC->CFGR = (MCUGEN_RCC->CFGR & ~MCUGEN_RCC_CFGR_SW_MASK) | MCUGEN_RCC_CFGR_SW_HSI;
    MCUGEN_RCC->CR &= ~MCUGEN_RCC_CR_PLLON;
    if (!mcugen_wait_bits(&MCUGEN_RCC->CR, MCUGEN_RCC_CR_PLLRDY, 0)) {
        return;
    }

    /* Voltage scale 1 (also the reset value); VOS only changes while the PLL is off. */
    MCUGEN_RCC->APB1ENR |= MCUGEN_RCC_APB1ENR_PWREN;
    (void)MCUGEN_RCC->APB1ENR; /* the read-back is the wait RM0385 asks for after a clock enable */
    MCUGEN_PWR->CR1 = (MCUGEN_PWR->CR1 & ~MCUGEN_PWR_CR1_VOS_MASK) | MCUGEN_PWR_CR1_VOS_SCALE1;

    /* PLL from HSE if it starts, else from HSI: either way a 1 MHz PLL input, so every
     * clock below is the same (HSI is only +-1 % at 25 C, still fine for 115200 baud). */
    uint32_t source_hz = mcugen_hse_start();
    uint32_t source_bit = MCUGEN_RCC_PLLCFGR_SRC_HSE;
    if (source_hz == 0) {
        source_hz = MCUGEN_HSI_HZ;
        source_bit = 0;
    }
    uint32_t pll_m = source_hz / MCUGEN_PLL_INPUT_HZ;
    MCUGEN_RCC->PLLCFGR = pll_m | (MCUGEN_PLL_N << 6) | (((MCUGEN_PLL_P / 2u) - 1u) << 16) | source_bit |
                          (MCUGEN_PLL_Q << 24);
    MCUGEN_RCC->CR |= MCUGEN_RCC_CR_PLLON;
    if (!mcugen_wait_bits(&MCUGEN_RCC->CR, MCUGEN_RCC_CR_PLLRDY, MCUGEN_RCC_CR_PLLRDY)) {
        return;
    }

    /* Over-drive: enable, wait, then switch the regulator over, wait (RM0385 4.1.4). */
    MCUGEN_PWR->CR1 |= MCUGEN_PWR_CR1_ODEN;
    if (!mcugen_wait_bits(&MCUGEN_PWR->CSR1, MCUGEN_PWR_CSR1_ODRDY, MCUGEN_PWR_CSR1_ODRDY)) {
        return;
    }
    MCUGEN_PWR->CR1 |= MCUGEN_PWR_CR1_ODSWEN;
    if (!mcugen_wait_bits(&MCUGEN_PWR->CSR1, MCUGEN_PWR_CSR1_ODSWRDY, MCUGEN_PWR_CSR1_ODSWRDY)) {
        return;
    }

    /* Wait states before the clock rises, checked by reading back (RM0385 3.3.2). ART and
     * prefetch only serve code fetched over ITCM (0x00200000); code linked at 0x08000000
     * (AXIM, as mcugen's is) is served by the core's I-cache instead. Both are harmless. */
    MCUGEN_FLASH->ACR = MCUGEN_FLASH_WAIT_STATES | MCUGEN_FLASH_ACR_PRFTEN | MCUGEN_FLASH_ACR_ARTEN;
    if (!mcugen_wait_bits(&MCUGEN_FLASH->ACR, MCUGEN_FLASH_ACR_LATENCY_MASK, MCUGEN_FLASH_WAIT_STATES)) {
        return;
    }

    /* Bus dividers before the switch, so APB1/APB2 never exceed 54/108 MHz. */
    uint32_t cfgr = MCUGEN_RCC->CFGR;
    cfgr &= ~(MCUGEN_RCC_CFGR_HPRE_MASK | (MCUGEN_RCC_CFGR_PPRE_MASK << MCUGEN_RCC_CFGR_PPRE1_SHIFT) |
              (MCUGEN_RCC_CFGR_PPRE_MASK << MCUGEN_RCC_CFGR_PPRE2_SHIFT));
    cfgr |= (MCUGEN_PPRE_DIV4 << MCUGEN_RCC_CFGR_PPRE1_SHIFT) | (MCUGEN_PPRE_DIV2 << MCUGEN_RCC_CFGR_PPRE2_SHIFT);
    MCUGEN_RCC->CFGR = cfgr;

    MCUGEN_RCC->CFGR = (MCUGEN_RCC->CFGR & ~MCUGEN_RCC_CFGR_SW_MASK) | MCUGEN_RCC_CFGR_SW_PLL;
    (void)mcugen_wait_bits(&MCUGEN_RCC->CFGR, MCUGEN_RCC_CFGR_SWS_MASK, MCUGEN_RCC_CFGR_SWS_PLL);
}

uint32_t mcugen_soc_hclk_hz(void)
{
    /* Only this file changes the clock, and the PLL only ever runs at 216 MHz here. */
    uint32_t sysclk = (MCUGEN_RCC->CFGR & MCUGEN_RCC_CFGR_SWS_MASK) == MCUGEN_RCC_CFGR_SWS_PLL ? MCUGEN_SYSCLK_HZ
                                                                                               : MCUGEN_HSI_HZ;
    uint32_t hpre = (MCUGEN_RCC->CFGR >> 4) & 0xFu; /* 0xxx /1, 1000 /2 .. 1011 /16, 1100 /64 .. 1111 /512 */
    if (hpre & 8u) {
        uint32_t shift = (hpre & 7u) + 1u;
        sysclk >>= shift >= 5u ? shift + 1u : shift; /* /32 does not exist: 1100 is /64 */
    }
    return sysclk;
}

static uint32_t mcugen_apb_hz(uint32_t ppre_shift)
{
    uint32_t ppre = (MCUGEN_RCC->CFGR >> ppre_shift) & MCUGEN_RCC_CFGR_PPRE_MASK; /* 0xx /1, 1xx /2 .. /16 */
    uint32_t hclk = mcugen_soc_hclk_hz();
    return (ppre & 4u) ? hclk >> ((ppre & 3u) + 1u) : hclk;
}

uint32_t mcugen_soc_pclk1_hz(void) { return mcugen_apb_hz(MCUGEN_RCC_CFGR_PPRE1_SHIFT); }
uint32_t mcugen_soc_pclk2_hz(void) { return mcugen_apb_hz(MCUGEN_RCC_CFGR_PPRE2_SHIFT); }

/* L1 caches on (Cortex-M7 TRM 4.1, ARMv7-M B2.2.7). The D-cache must be invalidated
 * before it is enabled (its contents are random after reset); once on, it must never be
 * invalidated wholesale again, since that would drop dirty lines: hence the CCR check,
 * which also makes a second mcugen_soc_init harmless. Memory at 0x20010000 (SRAM1/2) is
 * write-back cacheable; DTCM (0x20000000, 64 KB) is not cached at all. */
static void mcugen_cache_init(void)
{
    if (!(MCUGEN_SCB->CCR & MCUGEN_SCB_CCR_IC)) {
        mcugen_dsb();
        mcugen_isb();
        MCUGEN_M7_CACHE_OPS->ICIALLU = 0;
        mcugen_dsb();
        mcugen_isb();
        MCUGEN_SCB->CCR |= MCUGEN_SCB_CCR_IC;
        mcugen_dsb();
        mcugen_isb();
    }
    if (!(MCUGEN_SCB->CCR & MCUGEN_SCB_CCR_DC)) {
        MCUGEN_M7_CACHE_ID->CSSELR = 0; /* level 1, data */
        mcugen_dsb();
        uint32_t ccsidr = MCUGEN_M7_CACHE_ID->CCSIDR;
        uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
        uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
        uint32_t line_shift = (ccsidr & 7u) + 4u;                 /* log2(bytes per line) */
        uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u; /* way in the top bits */
        for (uint32_t set = 0; set < sets; set++) {
            for (uint32_t way = 0; way < ways; way++) {
                MCUGEN_M7_CACHE_OPS->DCISW = (set << line_shift) | (ways > 1u ? way << way_shift : 0u);
            }
        }
        mcugen_dsb();
        MCUGEN_SCB->CCR |= MCUGEN_SCB_CCR_DC;
        mcugen_dsb();
        mcugen_isb();
    }
}

static void mcugen_gpio_clock(char port)
{
    MCUGEN_RCC->AHB1ENR |= 1u << (uint32_t)(port - 'A');
    (void)MCUGEN_RCC->AHB1ENR;
}

/* One pin to alternate function `af`, with an optional pull-up. */
static void mcugen_gpio_af(char port, uint32_t pin, uint32_t af, int pull_up)
{
    mcugen_f7_gpio_t *gpio = MCUGEN_GPIO(port);
    volatile uint32_t *afr = &gpio->AFR[pin >> 3];
    *afr = (*afr & ~(0xFu << ((pin & 7u) * 4u))) | (af << ((pin & 7u) * 4u));
    gpio->PUPDR = (gpio->PUPDR & ~(3u << (pin * 2u))) | ((pull_up ? MCUGEN_GPIO_PULL_UP : 0u) << (pin * 2u));
    gpio->MODER = (gpio->MODER & ~(3u << (pin * 2u))) | (MCUGEN_GPIO_MODE_AF << (pin * 2u));
}

/* ---- LEDs: the board file's [[leds]], through mcugen_board_config.h ---- */

#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
static const mcugen_led_pin_t mcugen_led_pins[MCUGEN_BOARD_LED_COUNT] = MCUGEN_BOARD_LED_PINS;

static int mcugen_led_valid(const mcugen_led_pin_t *led)
{
    return led->port >= 'A' && led->port <= MCUGEN_GPIO_LAST_PORT && led->pin < 16u;
}
#endif

void mcugen_soc_led_write(unsigned index, int on)
{
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    if (index >= MCUGEN_BOARD_LED_COUNT || !mcugen_led_valid(&mcugen_led_pins[index])) {
        return;
    }
    const mcugen_led_pin_t *led = &mcugen_led_pins[index];
    int high = (on != 0) != (led->active_low != 0);
    MCUGEN_GPIO(led->port)->BSRR = high ? 1u << led->pin : 1u << (led->pin + 16u);
#else
    (void)index;
    (void)on;
#endif
}

static void mcugen_leds_init(void)
{
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    for (unsigned i = 0; i < MCUGEN_BOARD_LED_COUNT; i++) {
        const mcugen_led_pin_t *led = &mcugen_led_pins[i];
        if (!mcugen_led_valid(led)) {
            continue; /* a wrong port letter in the board file must not write random memory */
        }
        mcugen_gpio_clock(led->port);
        /* Off level first, then output: the LED does not flash at start-up. */
        mcugen_soc_led_write(i, 0);
        mcugen_f7_gpio_t *gpio = MCUGEN_GPIO(led->port);
        gpio->MODER = (gpio->MODER & ~(3u << (led->pin * 2u))) | (MCUGEN_GPIO_MODE_OUTPUT << (led->pin * 2u));
    }
#endif
}

/* ---- the serial link: USART1, TX PA9 / RX PB7, AF7 (the ST-LINK VCP wiring) ---- */

static void mcugen_uart_init(void)
{
    MCUGEN_RCC->APB2ENR |= MCUGEN_RCC_APB2ENR_USART1EN;
    (void)MCUGEN_RCC->APB2ENR;
    mcugen_gpio_clock('A');
    mcugen_gpio_clock('B');
    mcugen_gpio_af('A', 9u, 7u, 0);
    mcugen_gpio_af('B', 7u, 7u, 1); /* RX pulled up: a floating line would read as start bits */

    /* A second call (from the fault handler) may find a byte still shifting out: let it
     * finish, so the text before the fault line arrives whole. */
    if (MCUGEN_USART1->CR1 & MCUGEN_USART_CR1_UE) {
        for (uint32_t spin = 0; spin < MCUGEN_CLOCK_SPINS && !(MCUGEN_USART1->ISR & MCUGEN_USART_ISR_TC); spin++) {
        }
    }
    /* USART1's kernel clock is PCLK2 (DCKCFGR2.USART1SEL = 00, the reset value). */
    MCUGEN_RCC->DCKCFGR2 &= ~MCUGEN_RCC_DCKCFGR2_USART1SEL_MASK;
    MCUGEN_USART1->CR1 = 0; /* BRR and the frame format only take writes with UE clear */
    /* 8N1, 16x oversampling: BRR = f_ck / baud, rounded (108 MHz / 115200 = 937.5 -> 938, +0.05 %). */
    uint32_t pclk2 = mcugen_soc_pclk2_hz();
    MCUGEN_USART1->BRR = (pclk2 + MCUGEN_BOARD_UART_BAUD / 2u) / MCUGEN_BOARD_UART_BAUD;
    MCUGEN_USART1->CR2 = 0;
    MCUGEN_USART1->CR3 = 0; /* DMAR is set again by mcugen_rx_init */
    MCUGEN_USART1->ICR = MCUGEN_USART_RX_ERRORS;
    MCUGEN_USART1->CR1 = MCUGEN_USART_CR1_UE | MCUGEN_USART_CR1_TE | MCUGEN_USART_CR1_RE;
}

/* ---- receiving: USART1 -> DMA2 stream 5 -> a ring in RAM ----
 *
 * USART1 holds one received byte, and at 115200 baud the next one comes 87 us later,
 * while the application may not look for tens of milliseconds (a camera frame, an
 * inference): polled, the bytes in between are lost. So the receiver's DMA request
 * (CR3.DMAR) drives a DMA stream in circular mode that copies every byte from RDR into
 * mcugen_rx_ring as it arrives, with no interrupt at all. NDTR (items left before the
 * stream wraps to the start again) says how far the DMA has written; the reader keeps
 * its own index, mcugen_rx_tail. Only a backlog of a whole ring (512 bytes, 44 ms of
 * continuous traffic) unread can still lose bytes, and then silently (the DMA laps the
 * reader; nothing counts laps).
 *
 * Stream: USART1_RX is request channel 4 on DMA2 stream 2 and on DMA2 stream 5 (RM0385's
 * DMA2 request mapping). Stream 1 is the DCMI's (mcugen_camera_ov9655.c); stream 5 is
 * taken because its flags are in HISR/HIFCR, apart from the camera's in LISR/LIFCR.
 * Priority low: the DCMI's stream (high) must win arbitration, a USART byte can wait a
 * few bus cycles. Byte-wide on both sides, direct mode (no FIFO).
 *
 * Memory: the ring is an ordinary static, so it goes to .bss, which the shared linker
 * script (templates/ports/cortexm/mcugen.ld.j2) places in the board's arena region,
 * "SRAM" (0x20000000..0x2004FFFF: DTCM, then SRAM1 and SRAM2). DMA2's memory port
 * reaches SRAM1/2 over the bus matrix and DTCM through the core's AHB slave port, so
 * wherever the ring lands in that region the DMA reaches it.
 *
 * D-cache: SRAM1/2 are write-back cacheable and mcugen_cache_init turns the D-cache on,
 * while the DMA writes memory behind the cache (DTCM is never cached; the same code is
 * then merely unnecessary). Chosen: invalidate by address. The CPU never writes the ring,
 * so its lines are never dirty (lines that startup's zeroing of .bss may have left dirty,
 * were the D-cache already on, are cleaned and invalidated before the stream starts),
 * and invalidating the 32-byte line that holds the next byte just before reading it is
 * always safe and makes that read come from memory (the core may have fetched the line
 * earlier, even speculatively). The ring is 32-byte aligned and a whole number of lines,
 * so no other variable shares a line that gets invalidated. The cost, one maintenance
 * write, a DSB and a line fill per byte, is nothing at 11.5 kB/s. Not chosen: making the
 * ring non-cacheable with an MPU region; nothing else in mcugen programs the MPU, a
 * region must be a power of two aligned to its size, and the fault handler would then
 * have to agree with it.
 */
#define MCUGEN_RX_RING_BYTES 512u
#define MCUGEN_RX_STREAM 5u  /* DMA2 stream 5 */
#define MCUGEN_RX_CHANNEL 4u /* its USART1_RX request */
#define MCUGEN_RX_CR                                                                                              \
    (MCUGEN_DMA_CR_CHSEL(MCUGEN_RX_CHANNEL) | MCUGEN_DMA_CR_PL_LOW | MCUGEN_DMA_CR_MSIZE_BYTE |                   \
     MCUGEN_DMA_CR_PSIZE_BYTE | MCUGEN_DMA_CR_MINC | MCUGEN_DMA_CR_CIRC | MCUGEN_DMA_CR_DIR_P2M)

_Static_assert((MCUGEN_RX_RING_BYTES & (MCUGEN_RX_RING_BYTES - 1u)) == 0u,
               "the ring's size must be a power of two (indices wrap by masking)");
_Static_assert(MCUGEN_RX_RING_BYTES % MCUGEN_M7_DCACHE_LINE == 0u,
               "the ring must be whole D-cache lines: invalidating one must not touch another variable");
_Static_assert(MCUGEN_RX_RING_BYTES <= MCUGEN_DMA_NDTR_MAX, "NDTR is 16 bits");

/* volatile: the compiler must not assume a never-written static stays zero. */
static volatile uint8_t mcugen_rx_ring[MCUGEN_RX_RING_BYTES] __attribute__((aligned(MCUGEN_M7_DCACHE_LINE)));
static uint32_t mcugen_rx_tail; /* the next index to read */

static mcugen_f7_dma_stream_t *const mcugen_rx_dma = &MCUGEN_DMA2->S[MCUGEN_RX_STREAM];

/* D-cache maintenance by address (ARMv7-M B2.2.7) over whole 32-byte lines; the
 * barriers finish earlier accesses first and the operation before later ones. */
static void mcugen_dcache_lines(volatile uint32_t *op, uintptr_t address, uint32_t bytes)
{
    uintptr_t line = address & ~(uintptr_t)(MCUGEN_M7_DCACHE_LINE - 1u);
    mcugen_dsb();
    for (; line < address + bytes; line += MCUGEN_M7_DCACHE_LINE) {
        *op = (uint32_t)line;
    }
    mcugen_dsb();
    mcugen_isb();
}

/* The stream is on, set up exactly as mcugen_rx_start leaves it. */
static int mcugen_rx_running(void)
{
    return (MCUGEN_RCC->AHB1ENR & MCUGEN_RCC_AHB1ENR_DMA2EN) && mcugen_rx_dma->CR == (MCUGEN_RX_CR | MCUGEN_DMA_CR_EN) &&
           mcugen_rx_dma->PAR == (uint32_t)(uintptr_t)&MCUGEN_USART1->RDR &&
           mcugen_rx_dma->M0AR == (uint32_t)(uintptr_t)mcugen_rx_ring;
}

/* (Re)starts reception from an empty ring, in RM0385's stream configuration order
 * (stream off and EN read back as 0, flags cleared, addresses, count, FIFO, control,
 * then EN), the USART's DMA request last. Bytes not yet read are dropped. */
static void mcugen_rx_start(void)
{
    MCUGEN_RCC->AHB1ENR |= MCUGEN_RCC_AHB1ENR_DMA2EN;
    (void)MCUGEN_RCC->AHB1ENR;

    MCUGEN_USART1->CR3 &= ~MCUGEN_USART_CR3_DMAR; /* no request while the stream is being set up */
    mcugen_rx_dma->CR &= ~MCUGEN_DMA_CR_EN;
    (void)mcugen_wait_bits(&mcugen_rx_dma->CR, MCUGEN_DMA_CR_EN, 0); /* ends after the current beat */
    MCUGEN_DMA2->HIFCR = MCUGEN_DMA_S5_ALL;                           /* EN only sets with the flags clear */

    /* No dirty line may be written back over the DMA's bytes later (see above). */
    mcugen_dcache_lines(&MCUGEN_M7_CACHE_OPS->DCCIMVAC, (uintptr_t)mcugen_rx_ring, MCUGEN_RX_RING_BYTES);
    mcugen_rx_tail = 0;

    mcugen_rx_dma->PAR = (uint32_t)(uintptr_t)&MCUGEN_USART1->RDR;
    mcugen_rx_dma->M0AR = (uint32_t)(uintptr_t)mcugen_rx_ring;
    mcugen_rx_dma->NDTR = MCUGEN_RX_RING_BYTES;
    mcugen_rx_dma->FCR = 0; /* direct mode: each byte is stored as it is read */
    mcugen_rx_dma->CR = MCUGEN_RX_CR;
    mcugen_rx_dma->CR |= MCUGEN_DMA_CR_EN;

    /* An overrun while nobody was reading would hold reception up: clear it, then let
     * RXNE request the DMA (a byte already waiting in RDR is taken at once). */
    MCUGEN_USART1->ICR = MCUGEN_USART_RX_ERRORS;
    MCUGEN_USART1->CR3 |= MCUGEN_USART_CR3_DMAR;
}

/* A second call (the fault handler's) finds the stream running as set up and leaves it
 * and the ring's contents alone; mcugen_uart_init has just set the USART up again
 * (clearing CR3), so DMAR is set again either way. Anything else starts it afresh. */
static void mcugen_rx_init(void)
{
    if (mcugen_rx_running()) {
        MCUGEN_USART1->CR3 |= MCUGEN_USART_CR3_DMAR;
        return;
    }
    mcugen_rx_start();
}

void mcugen_soc_init(void)
{
    mcugen_clock_init();
    mcugen_cache_init();
    mcugen_uart_init();
    mcugen_rx_init();
    mcugen_leds_init();
}

void mcugen_soc_uart_write_byte(uint8_t byte)
{
    while (!(MCUGEN_USART1->ISR & MCUGEN_USART_ISR_TXE)) {
    }
    MCUGEN_USART1->TDR = byte;
}

int mcugen_soc_uart_poll_byte(uint8_t *byte)
{
    /* An overrun (a byte arrived while RDR was full: with the DMA, only if the stream is
     * stopped or starved) sets ORE, and on this USART reception stops until ORE is
     * cleared through ICR; framing, noise and parity flags are cleared with it. */
    uint32_t isr = MCUGEN_USART1->ISR;
    if (isr & MCUGEN_USART_RX_ERRORS) {
        MCUGEN_USART1->ICR = isr & MCUGEN_USART_RX_ERRORS;
    }

    /* A transfer error turns the stream off (EN reads 0, TEIF set): start again. */
    if (!(mcugen_rx_dma->CR & MCUGEN_DMA_CR_EN)) {
        mcugen_rx_start();
        return 0;
    }

    /* Where the DMA writes next. NDTR counts down from the ring's size and reloads in
     * circular mode; a 0 read at the reload instant masks to index 0 as well. */
    uint32_t head = (MCUGEN_RX_RING_BYTES - mcugen_rx_dma->NDTR) & (MCUGEN_RX_RING_BYTES - 1u);
    uint32_t tail = mcugen_rx_tail & (MCUGEN_RX_RING_BYTES - 1u);
    if (head == tail) {
        return 0;
    }
    /* The line holding the byte may be in the D-cache from before the DMA wrote it:
     * invalidate it (the barriers also order this after the NDTR read). */
    mcugen_dcache_lines(&MCUGEN_M7_CACHE_OPS->DCIMVAC, (uintptr_t)&mcugen_rx_ring[tail], 1u);
    *byte = mcugen_rx_ring[tail];
    mcugen_rx_tail = (tail + 1u) & (MCUGEN_RX_RING_BYTES - 1u);
    return 1;
}

uint8_t mcugen_soc_uart_read_byte(void)
{
    uint8_t byte;
    while (!mcugen_soc_uart_poll_byte(&byte)) {
    }
    return byte;
}
