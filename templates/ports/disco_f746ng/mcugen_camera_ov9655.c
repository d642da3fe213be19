/* The camera of the STM32F746G-DISCO port: an OmniVision OV9655 on ST's STM32F4DIS-CAM
 * module, plugged into the board's 30-pin camera connector P1 with its FFC.
 *
 * Wiring (ST's 32F746GDISCOVERY BSP camera driver and an independent stm32f7xx-hal OV9655
 * driver for this board agree on every pin; UM1907 section 7 itself was not read):
 *   DCMI, AF13: HSYNC PA4, PIXCLK PA6, VSYNC PG9, D0..D4 PH9 PH10 PH11 PH12 PH14,
 *               D5 PD3, D6 PE5, D7 PE6
 *   SCCB: I2C1, SCL PB8 / SDA PB9 (AF4), shared with the Arduino header; 8-bit address 0x60
 *   PWDN: PH13, plain output, high = power down (ST's BSP drives it low to run)
 *   RESET#: wired to the board's NRST, not to a GPIO (so the sensor is reset by COM7 only)
 *   XCLK: not driven by the MCU. ST's BSP sets up no clock output for the camera; a
 *         write-up of P1 from UM1907 says pin 21 carries a 24 MHz clock from the board's
 *         own oscillator. PA8 (MCO1) is left alone: on this board it is Arduino D10.
 *
 * Frames: VGA from the sensor array, scaled down by the OV9655's DSP to QQVGA 160x120,
 * RGB565 (big-endian, RRRRRGGG first, as the sensor sends it and the DCMI stores it) or
 * YUV422 (Y0 U Y1 V); GRAY8 keeps only the Y bytes of YUV422 with the DCMI's byte select.
 * One frame per capture: DCMI snapshot mode, DMA2 stream 1 channel 1 (the DCMI request,
 * RM0385 table 27), 32-bit words into a buffer in internal SRAM, D-cache lines invalidated
 * after the transfer (the DMA writes behind the cache's back). Every wait has a timeout.
 *
 * The sensor settings are mcugen's own short list, each register named and explained
 * below; everything else (gamma, colour matrix, lens correction) stays at the OV9655's
 * power-on defaults, so colours may be less polished than with a vendor-tuned table.
 * Nothing here has run on silicon: README.md lists what is unverified.
 */
#include "mcugen_board.h"
#include "mcugen_cortexm.h"
#include "mcugen_port.h"

#if defined(MCUGEN_BOARD_HAS_CAMERA) && MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED

/* ---- what the board config asks for, checked at compile time where it can be ---- */

#if MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_GRAY8
#define MCUGEN_CAM_BYTES_PER_PIXEL 1u
#elif MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_RGB565 || MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_YUV422
#define MCUGEN_CAM_BYTES_PER_PIXEL 2u
#else
#define MCUGEN_CAM_BYTES_PER_PIXEL 0u /* RGB888 and the rest: not from this sensor (ERR_FORMAT) */
#endif

#define MCUGEN_CAM_SUPPORTED \
    (MCUGEN_CAMERA_WIDTH == 160 && MCUGEN_CAMERA_HEIGHT == 120 && MCUGEN_CAM_BYTES_PER_PIXEL != 0u)

_Static_assert(!MCUGEN_CAM_SUPPORTED ||
                   MCUGEN_CAMERA_FRAME_BYTES == MCUGEN_CAMERA_WIDTH * MCUGEN_CAMERA_HEIGHT * MCUGEN_CAM_BYTES_PER_PIXEL,
               "MCUGEN_CAMERA_FRAME_BYTES must be width * height * bytes per pixel");
_Static_assert(MCUGEN_CAMERA_FRAME_BYTES % 4u == 0 && MCUGEN_CAMERA_FRAME_BYTES / 4u <= MCUGEN_DMA_NDTR_MAX,
               "one DMA transfer of 32-bit words must hold the frame (at most 65535 words)");

/* The frame buffer: word-aligned for the DMA, cache-line aligned and padded to whole lines
 * so invalidating it never touches a neighbour's data. The linker script puts
 * .mcugen_frame in internal SRAM, which DMA2 reaches (SRAM1/2, or DTCM through the
 * core's AHB slave port). */
#define MCUGEN_CAM_BUFFER_BYTES \
    ((MCUGEN_CAMERA_FRAME_BYTES + MCUGEN_M7_DCACHE_LINE - 1u) / MCUGEN_M7_DCACHE_LINE * MCUGEN_M7_DCACHE_LINE)
static uint8_t mcugen_camera_frame[MCUGEN_CAM_BUFFER_BYTES] __attribute__((section(".mcugen_frame"), aligned(32)));

/* ---- time: the core's cycle counter (the shared counter layer runs it too) ---- */

static void mcugen_cam_time_init(void)
{
    /* Same settings as mcugen_counter_init; CYCCNT itself is only read, never written,
     * so the board counter is not disturbed. The lock is there on the M7 even without
     * a debugger. */
    MCUGEN_DEMCR |= MCUGEN_DEMCR_TRCENA;
    MCUGEN_DWT->LAR = 0xC5ACCE55u;
    MCUGEN_DWT->CTRL |= 1u; /* CYCCNTENA */
}

static uint32_t mcugen_cam_cycles(uint32_t ms)
{
    return ms * (mcugen_soc_hclk_hz() / 1000u); /* at most ~19 s at 216 MHz; waits here are <= 2 s */
}

static int mcugen_cam_expired(uint32_t start, uint32_t cycles)
{
    return MCUGEN_DWT->CYCCNT - start >= cycles; /* unsigned difference: right across a wrap */
}

static void mcugen_cam_delay_ms(uint32_t ms)
{
    uint32_t start = MCUGEN_DWT->CYCCNT;
    uint32_t cycles = mcugen_cam_cycles(ms);
    while (!mcugen_cam_expired(start, cycles)) {
    }
}

/* ---- pins ---- */

typedef struct {
    char port;
    uint8_t pin;
} mcugen_cam_pin_t;

static const mcugen_cam_pin_t mcugen_cam_dcmi_pins[] = {
    {'A', 4},  /* HSYNC (the OV9655's HREF) */
    {'A', 6},  /* PIXCLK */
    {'G', 9},  /* VSYNC */
    {'H', 9},  /* D0 */
    {'H', 10}, /* D1 */
    {'H', 11}, /* D2 */
    {'H', 12}, /* D3 */
    {'H', 14}, /* D4 */
    {'D', 3},  /* D5 */
    {'E', 5},  /* D6 */
    {'E', 6},  /* D7 */
};
#define MCUGEN_CAM_AF_DCMI 13u
#define MCUGEN_CAM_AF_I2C1 4u
#define MCUGEN_CAM_PWDN_PORT 'H'
#define MCUGEN_CAM_PWDN_PIN 13u

static void mcugen_cam_gpio_clock(char port)
{
    MCUGEN_RCC->AHB1ENR |= 1u << (uint32_t)(port - 'A');
    (void)MCUGEN_RCC->AHB1ENR;
}

static void mcugen_cam_pin_af(char port, uint32_t pin, uint32_t af, int open_drain)
{
    mcugen_f7_gpio_t *gpio = MCUGEN_GPIO(port);
    mcugen_cam_gpio_clock(port);
    volatile uint32_t *afr = &gpio->AFR[pin >> 3];
    *afr = (*afr & ~(0xFu << ((pin & 7u) * 4u))) | (af << ((pin & 7u) * 4u));
    gpio->OTYPER = open_drain ? gpio->OTYPER | (1u << pin) : gpio->OTYPER & ~(1u << pin);
    gpio->OSPEEDR |= MCUGEN_GPIO_SPEED_VERY_HIGH << (pin * 2u);
    /* Pull-ups: undriven data lines read as a steady level rather than noise (ST's BSP
     * does the same); on SCL/SDA they only add to the board's pull-ups. */
    gpio->PUPDR = (gpio->PUPDR & ~(3u << (pin * 2u))) | (MCUGEN_GPIO_PULL_UP << (pin * 2u));
    gpio->MODER = (gpio->MODER & ~(3u << (pin * 2u))) | (MCUGEN_GPIO_MODE_AF << (pin * 2u));
}

/* PWDN high (sensor off) for a moment, then low: a power cycle is the only hardware
 * reset the sensor has here. The level is written before the pin becomes an output. */
static void mcugen_cam_power_cycle(void)
{
    mcugen_f7_gpio_t *gpio = MCUGEN_GPIO(MCUGEN_CAM_PWDN_PORT);
    mcugen_cam_gpio_clock(MCUGEN_CAM_PWDN_PORT);
    gpio->BSRR = 1u << MCUGEN_CAM_PWDN_PIN;
    gpio->MODER = (gpio->MODER & ~(3u << (MCUGEN_CAM_PWDN_PIN * 2u))) |
                  (MCUGEN_GPIO_MODE_OUTPUT << (MCUGEN_CAM_PWDN_PIN * 2u));
    mcugen_cam_delay_ms(10);
    gpio->BSRR = 1u << (MCUGEN_CAM_PWDN_PIN + 16u);
    mcugen_cam_delay_ms(10); /* ST's BSP waits 3 ms after releasing PWDN */
}

/* ---- SCCB over I2C1 ---- */

#define MCUGEN_OV9655_SCCB_ADDRESS 0x60u /* 8-bit form (7-bit 0x30), as CR2.SADD[7:1] wants it */
#define MCUGEN_SCCB_TIMEOUT_MS 10u       /* a byte takes ~0.1 ms at 100 kHz; SCCB never stretches */

/* CR2.SADD/NBYTES/TIMINGR fields (RM0385 30.7.2, 30.7.5). */
#define MCUGEN_I2C_TIMINGR(presc, scldel, sdadel, sclh, scll) \
    (((uint32_t)(presc) << 28) | ((uint32_t)(scldel) << 20) | ((uint32_t)(sdadel) << 16) | ((uint32_t)(sclh) << 8) | \
     (uint32_t)(scll))

/* Clock periods of `period_ns` covering at least `ns` (at least one). */
static uint32_t mcugen_i2c_periods(uint32_t ns, uint32_t period_ns)
{
    uint32_t n = (ns + period_ns - 1u) / period_ns;
    return n ? n : 1u;
}

/* Standard mode, ~95 kHz, with margin for slow edges: ST notes that the level shifter
 * on this camera path gives rise times above 1 us. From RM0385 30.4.9: the timing
 * prescaler makes a ~250 ns tick; SCL low >= 5.0 us (4.7 us minimum), high >= 4.2 us
 * (4.0 us minimum); data setup SCLDEL >= 1.25 us (1 us rise + 250 ns tSU;DAT);
 * data hold SDADEL 2 ticks (~0.5 us, under the 3.45 us maximum). */
static uint32_t mcugen_i2c_timing(uint32_t pclk1_hz)
{
    uint32_t presc = (pclk1_hz + 3999999u) / 4000000u; /* ticks of at least 250 ns */
    presc = presc ? presc - 1u : 0u;
    if (presc > 15u) {
        presc = 15u;
    }
    uint32_t tick_ns = (uint32_t)((uint64_t)(presc + 1u) * 1000000000u / pclk1_hz);
    uint32_t scll = mcugen_i2c_periods(5000u, tick_ns) - 1u;
    uint32_t sclh = mcugen_i2c_periods(4200u, tick_ns) - 1u;
    uint32_t scldel = mcugen_i2c_periods(1250u, tick_ns) - 1u;
    return MCUGEN_I2C_TIMINGR(presc, scldel > 15u ? 15u : scldel, 2u, sclh > 255u ? 255u : sclh,
                              scll > 255u ? 255u : scll);
}

static void mcugen_sccb_init(void)
{
    mcugen_cam_pin_af('B', 8u, MCUGEN_CAM_AF_I2C1, 1); /* SCL */
    mcugen_cam_pin_af('B', 9u, MCUGEN_CAM_AF_I2C1, 1); /* SDA */
    MCUGEN_RCC->DCKCFGR2 &= ~MCUGEN_RCC_DCKCFGR2_I2C1SEL_MASK; /* I2C1 kernel clock = PCLK1 */
    MCUGEN_RCC->APB1ENR |= MCUGEN_RCC_APB1ENR_I2C1EN;
    (void)MCUGEN_RCC->APB1ENR;
    MCUGEN_RCC->APB1RSTR |= MCUGEN_RCC_APB1RSTR_I2C1RST;
    MCUGEN_RCC->APB1RSTR &= ~MCUGEN_RCC_APB1RSTR_I2C1RST;
    MCUGEN_I2C1->CR1 = 0; /* TIMINGR only takes writes with PE clear */
    MCUGEN_I2C1->TIMINGR = mcugen_i2c_timing(mcugen_soc_pclk1_hz());
    MCUGEN_I2C1->CR1 = MCUGEN_I2C_CR1_PE;
}

/* After an error or a timeout: PE low resets the I2C state machine and releases the
 * lines (RM0385 30.4.6: PE must stay low for 3 APB clocks; the read-backs are that). */
static void mcugen_sccb_recover(void)
{
    MCUGEN_I2C1->CR1 &= ~MCUGEN_I2C_CR1_PE;
    for (int i = 0; i < 3; i++) {
        (void)MCUGEN_I2C1->CR1;
    }
    MCUGEN_I2C1->CR1 |= MCUGEN_I2C_CR1_PE;
    MCUGEN_I2C1->ICR = MCUGEN_I2C_ICR_ALL;
}

/* Waits for `flag`; 0 on success, -1 on NACK, bus error, lost arbitration or timeout. */
static int mcugen_sccb_wait(uint32_t flag)
{
    uint32_t start = MCUGEN_DWT->CYCCNT;
    uint32_t cycles = mcugen_cam_cycles(MCUGEN_SCCB_TIMEOUT_MS);
    for (;;) {
        uint32_t isr = MCUGEN_I2C1->ISR;
        if (isr & flag) {
            return 0;
        }
        if (isr & (MCUGEN_I2C_ISR_NACKF | MCUGEN_I2C_ISR_BERR | MCUGEN_I2C_ISR_ARLO)) {
            return -1;
        }
        if (mcugen_cam_expired(start, cycles)) {
            return -1;
        }
    }
}

/* One SCCB transaction of `count` bytes, each ended by a STOP (AUTOEND): SCCB has no
 * repeated start, so a register read is a one-byte write then a one-byte read. */
static int mcugen_sccb_transfer(int read, uint8_t *bytes, uint32_t count)
{
    int status = 0;
    uint32_t start = MCUGEN_DWT->CYCCNT;
    while (MCUGEN_I2C1->ISR & MCUGEN_I2C_ISR_BUSY) {
        if (mcugen_cam_expired(start, mcugen_cam_cycles(MCUGEN_SCCB_TIMEOUT_MS))) {
            mcugen_sccb_recover();
            return -1;
        }
    }
    MCUGEN_I2C1->ICR = MCUGEN_I2C_ICR_ALL;
    MCUGEN_I2C1->CR2 = MCUGEN_OV9655_SCCB_ADDRESS | (read ? MCUGEN_I2C_CR2_RD_WRN : 0u) |
                       (count << MCUGEN_I2C_CR2_NBYTES_SHIFT) | MCUGEN_I2C_CR2_AUTOEND | MCUGEN_I2C_CR2_START;
    for (uint32_t i = 0; i < count && status == 0; i++) {
        if (read) {
            status = mcugen_sccb_wait(MCUGEN_I2C_ISR_RXNE);
            if (status == 0) {
                bytes[i] = (uint8_t)MCUGEN_I2C1->RXDR;
            }
        } else {
            status = mcugen_sccb_wait(MCUGEN_I2C_ISR_TXIS);
            if (status == 0) {
                MCUGEN_I2C1->TXDR = bytes[i];
            }
        }
    }
    /* On a NACK the hardware sends the STOP itself (RM0385 30.4.8), so STOPF comes
     * either way; no STOPF in time means a stuck bus. */
    start = MCUGEN_DWT->CYCCNT;
    while (!(MCUGEN_I2C1->ISR & MCUGEN_I2C_ISR_STOPF)) {
        if (mcugen_cam_expired(start, mcugen_cam_cycles(MCUGEN_SCCB_TIMEOUT_MS))) {
            mcugen_sccb_recover();
            return -1;
        }
    }
    if (MCUGEN_I2C1->ISR & (MCUGEN_I2C_ISR_NACKF | MCUGEN_I2C_ISR_BERR | MCUGEN_I2C_ISR_ARLO)) {
        status = -1;
    }
    MCUGEN_I2C1->ICR = MCUGEN_I2C_ICR_ALL;
    return status;
}

static int mcugen_sccb_write(uint8_t reg, uint8_t value)
{
    uint8_t bytes[2] = {reg, value};
    return mcugen_sccb_transfer(0, bytes, 2u);
}

static int mcugen_sccb_read(uint8_t reg, uint8_t *value)
{
    if (mcugen_sccb_transfer(0, &reg, 1u) != 0) {
        return -1;
    }
    return mcugen_sccb_transfer(1, value, 1u);
}

/* ---- the OV9655 ----
 * Register names and bits from the OV9655 register definitions in TI's and MontaVista's
 * Linux drivers (drivers/media/video/ov9655*.h) and OmniVision's OV9650 implementation
 * guide (the same register family); values chosen here from those meanings. */

#define OV9655_PID 0x0Au   /* product id high: 0x96 */
#define OV9655_VER 0x0Bu   /* product id low: 0x56 or 0x57 (two silicon revisions) */
#define OV9655_COM2 0x09u  /* [1:0] output drive: 01 = 2x; [4] soft sleep */
#define OV9655_CLKRC 0x11u /* [5:0] internal clock prescaler: f / (n + 1) */
#define OV9655_COM7 0x12u  /* [7] register reset; [6:4] resolution (110 = VGA); [1:0] 10 YUV, 11 RGB */
#define OV9655_COM8 0x13u  /* [7] fast AEC/AGC, [6] unlimited AEC step, [5] banding, [2] AGC, [1] AWB, [0] AEC */
#define OV9655_COM10 0x15u /* [4] PCLK reverse, [3] HREF reverse, [1] VSYNC negative, [0] HSYNC negative */
#define OV9655_HSTART 0x17u
#define OV9655_HSTOP 0x18u
#define OV9655_VSTART 0x19u
#define OV9655_VSTOP 0x1Au
#define OV9655_VREF 0x03u  /* low bits of VSTART [2:0] and VSTOP [5:3] */
#define OV9655_HREF 0x32u  /* low bits of HSTART [2:0] and HSTOP [5:3], [7:6] HREF edge offset */
#define OV9655_TSLB 0x3Au  /* [3:2] byte order of a pixel pair: 00 = Y U Y V (and RGB high byte first) */
#define OV9655_COM14 0x3Eu /* [1] manual scaling (zoom) enable */
#define OV9655_COM15 0x40u /* [7:6] output range (11 = 0x00..0xFF), [5:4] 01 = RGB565 */
#define OV9655_COM16 0x41u /* [0] down-scaling enable */
#define OV9655_DBLV 0x6Bu  /* [7:6] PLL (01 = x4), [4] internal regulator bypass, [3:0] bandgap */
#define OV9655_POIDX 0x72u /* down-sampling: log2 of the vertical [5:4] and horizontal [1:0] factors */
#define OV9655_PCKDV 0x73u /* pixel clock divider: PCLK / 2^n */
#define OV9655_XINDX 0x74u /* horizontal fine scaling index */
#define OV9655_YINDX 0x75u /* vertical fine scaling index */
#define OV9655_COM24 0xC7u /* pixel clock control for the scaled sizes */

#define OV9655_PID_VALUE 0x96u
#define OV9655_VER_REV4 0x56u
#define OV9655_VER_REV5 0x57u

#define OV9655_COM7_RESET 0x80u
#define OV9655_COM7_VGA 0x60u
#define OV9655_COM7_YUV 0x02u
#define OV9655_COM7_RGB 0x03u
#define OV9655_COM15_FULL_RANGE 0xC0u
#define OV9655_COM15_RGB565 0x10u
#define OV9655_TSLB_ORDER_MASK 0x0Cu
#define OV9655_COM16_SCALING 0x01u
#define OV9655_DBLV_PLL_X4 0x40u
#define OV9655_DBLV_REGULATOR_BYPASS 0x10u
#define OV9655_DBLV_BANDGAP_DEFAULT 0x0Au

typedef struct {
    uint8_t reg;
    uint8_t value;
} mcugen_ov9655_reg_t;

/* QQVGA: the array read out in VGA mode (VarioPixel 2x2 sub-sampling, 640x480), then the
 * DSP scaler down to a quarter in each direction. Order matters only in that COM7 (which
 * selects the mode) comes before the window and scaler registers. */
static const mcugen_ov9655_reg_t mcugen_ov9655_qqvga[] = {
    /* 2x pad drive: the FFC cable and the level shifter load the outputs. */
    {OV9655_COM2, 0x01},
    /* Clocks: XCLK (24 MHz on this board) through the x4 PLL, halved by CLKRC. The
     * regulator bypass matches ST's settings for this module, which implies the module
     * supplies the sensor's 1.8 V core itself (not confirmed from a schematic). */
    {OV9655_DBLV, OV9655_DBLV_PLL_X4 | OV9655_DBLV_REGULATOR_BYPASS | OV9655_DBLV_BANDGAP_DEFAULT},
    {OV9655_CLKRC, 0x01},
    /* Syncs as the DCMI is set up below: HREF high during pixels, VSYNC a positive pulse,
     * data changing on PCLK's falling edge (so stable on the rising edge the DCMI samples). */
    {OV9655_COM10, 0x00},
    /* Automatic exposure, gain and white balance, fast convergence; no banding filter
     * (its step registers depend on the exact line time). */
    {OV9655_COM8, 0xC7},
    /* VGA-mode window. These six values are the ones both public OV9655 QQVGA settings
     * read (ST's BSP, Zephyr's driver) use; the sensor's column/row offsets that would
     * let them be derived are not in the register summaries read. */
    {OV9655_HSTART, 0x18},
    {OV9655_HSTOP, 0x04},
    {OV9655_HREF, 0xA4},
    {OV9655_VSTART, 0x01},
    {OV9655_VSTOP, 0x81},
    {OV9655_VREF, 0x02},
    /* Scaler: 640x480 / 4 = 160x120; a quarter of the pixels per line needs a quarter of
     * the pixel clock (PCKDV = 2, and COM24's matching setting); unity fine-scaling
     * indexes. COM14 bits 3:2 are set as the public QQVGA settings set them. */
    {OV9655_COM14, 0x0E},
    {OV9655_POIDX, 0x22},
    {OV9655_PCKDV, 0x02},
    {OV9655_XINDX, 0x10},
    {OV9655_YINDX, 0x10},
    {OV9655_COM24, 0x82},
};

static int mcugen_ov9655_write_list(const mcugen_ov9655_reg_t *list, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        if (mcugen_sccb_write(list[i].reg, list[i].value) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Sets the bits in `set` and clears those in `clear`, keeping the rest at their defaults. */
static int mcugen_ov9655_update(uint8_t reg, uint8_t clear, uint8_t set)
{
    uint8_t value;
    if (mcugen_sccb_read(reg, &value) != 0) {
        return -1;
    }
    return mcugen_sccb_write(reg, (uint8_t)((value & ~clear) | set));
}

/* The chip answers at 0x60 with product id 0x96 and a known revision. The first reads
 * after power-up may come too early, hence a few tries. */
static int mcugen_ov9655_identify(void)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        uint8_t pid = 0;
        uint8_t ver = 0;
        if (mcugen_sccb_read(OV9655_PID, &pid) == 0 && mcugen_sccb_read(OV9655_VER, &ver) == 0) {
            return pid == OV9655_PID_VALUE && (ver == OV9655_VER_REV4 || ver == OV9655_VER_REV5) ? 0 : -1;
        }
        mcugen_cam_delay_ms(10);
    }
    return -1;
}

static int mcugen_ov9655_configure(void)
{
    if (mcugen_sccb_write(OV9655_COM7, OV9655_COM7_RESET) != 0) {
        return -1;
    }
    mcugen_cam_delay_ms(200); /* registers back to defaults; generous, as others wait */
    if (mcugen_sccb_write(OV9655_COM7, OV9655_COM7_VGA | (MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_RGB565
                                                               ? OV9655_COM7_RGB
                                                               : OV9655_COM7_YUV)) != 0) {
        return -1;
    }
    if (mcugen_ov9655_write_list(mcugen_ov9655_qqvga, sizeof mcugen_ov9655_qqvga / sizeof mcugen_ov9655_qqvga[0]) != 0) {
        return -1;
    }
    /* Full 0..255 range; RGB565 packing when RGB. */
    uint8_t com15 = OV9655_COM15_FULL_RANGE | (MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_RGB565 ? OV9655_COM15_RGB565 : 0u);
    if (mcugen_sccb_write(OV9655_COM15, com15) != 0) {
        return -1;
    }
    /* Natural byte order: Y U Y V, and RGB565's high byte (RRRRRGGG) first. The other
     * TSLB bits keep their defaults. */
    if (mcugen_ov9655_update(OV9655_TSLB, OV9655_TSLB_ORDER_MASK, 0u) != 0) {
        return -1;
    }
    return mcugen_ov9655_update(OV9655_COM16, 0u, OV9655_COM16_SCALING);
}

/* ---- DCMI and DMA ---- */

#define MCUGEN_CAM_DMA_CHANNEL 1u      /* DMA2 stream 1 channel 1 = DCMI (RM0385 table 27) */
#define MCUGEN_CAM_FRAME_TIMEOUT_MS 2000u /* a frame is ~33 ms at 30 fps; AEC may slow it in the dark */
#define MCUGEN_CAM_DRAIN_TIMEOUT_MS 10u
#define MCUGEN_CAM_SETTLE_MS 300u      /* AEC/AWB converge over the first frames */

static mcugen_f7_dma_stream_t *const mcugen_cam_dma = &MCUGEN_DMA2->S[1];
static int mcugen_cam_started;

static void mcugen_cam_dcmi_init(void)
{
    for (unsigned i = 0; i < sizeof mcugen_cam_dcmi_pins / sizeof mcugen_cam_dcmi_pins[0]; i++) {
        mcugen_cam_pin_af(mcugen_cam_dcmi_pins[i].port, mcugen_cam_dcmi_pins[i].pin, MCUGEN_CAM_AF_DCMI, 0);
    }
    MCUGEN_RCC->AHB1ENR |= MCUGEN_RCC_AHB1ENR_DMA2EN;
    MCUGEN_RCC->AHB2ENR |= MCUGEN_RCC_AHB2ENR_DCMIEN;
    (void)MCUGEN_RCC->AHB2ENR;
    MCUGEN_RCC->AHB2RSTR |= MCUGEN_RCC_AHB2RSTR_DCMIRST;
    MCUGEN_RCC->AHB2RSTR &= ~MCUGEN_RCC_AHB2RSTR_DCMIRST;

    /* 8-bit data, hardware syncs, every frame. DCMI "polarity" names the level at which
     * a sync means blanking: VSYNC high = between frames (VSPOL = 1), HREF low = between
     * lines (HSPOL = 0). Sampled on PCLK's rising edge. Snapshot: one frame per CAPTURE. */
    uint32_t cr = MCUGEN_DCMI_CR_CM_SNAPSHOT | MCUGEN_DCMI_CR_PCKPOL_RISING | MCUGEN_DCMI_CR_VSPOL_HIGH;
#if MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_GRAY8
    cr |= MCUGEN_DCMI_CR_BSM_ALTERNATE; /* keep bytes 0, 2, 4..: the Y of Y U Y V */
#endif
    MCUGEN_DCMI->CR = cr;
    MCUGEN_DCMI->IER = 0; /* polled: no interrupt is enabled anywhere in mcugen */
    MCUGEN_DCMI->ICR = MCUGEN_DCMI_ICR_ALL;
    MCUGEN_DCMI->CR = cr | MCUGEN_DCMI_CR_ENABLE;
}

static int mcugen_cam_dma_stop(void)
{
    mcugen_cam_dma->CR &= ~MCUGEN_DMA_CR_EN;
    uint32_t start = MCUGEN_DWT->CYCCNT;
    while (mcugen_cam_dma->CR & MCUGEN_DMA_CR_EN) { /* EN reads 1 until the current beat ends */
        if (mcugen_cam_expired(start, mcugen_cam_cycles(MCUGEN_CAM_DRAIN_TIMEOUT_MS))) {
            return -1;
        }
    }
    MCUGEN_DMA2->LIFCR = MCUGEN_DMA_S1_ALL;
    return 0;
}

/* Cache maintenance by address over the buffer (ARMv7-M B2.2.7), 32-byte lines. */
static void mcugen_cam_dcache_by_line(volatile uint32_t *op)
{
    uintptr_t address = (uintptr_t)mcugen_camera_frame;
    mcugen_dsb();
    for (uintptr_t offset = 0; offset < MCUGEN_CAM_BUFFER_BYTES; offset += MCUGEN_M7_DCACHE_LINE) {
        *op = (uint32_t)(address + offset);
    }
    mcugen_dsb();
    mcugen_isb();
}

int mcugen_soc_camera_start(void)
{
    mcugen_cam_started = 0;
    if (!MCUGEN_CAM_SUPPORTED) {
        return MCUGEN_CAMERA_ERR_FORMAT; /* this driver gives 160x120 RGB565, YUV422 or GRAY8 */
    }
    mcugen_cam_time_init();
    mcugen_cam_power_cycle();
    mcugen_sccb_init();
    if (mcugen_ov9655_identify() != 0) {
        return MCUGEN_CAMERA_ERR_NO_SENSOR;
    }
    if (mcugen_ov9655_configure() != 0) {
        return MCUGEN_CAMERA_ERR_NO_SENSOR; /* it answered the id, then stopped answering */
    }
    mcugen_cam_dcmi_init();
    mcugen_cam_delay_ms(MCUGEN_CAM_SETTLE_MS);
    mcugen_cam_started = 1;
    return 0;
}

int mcugen_soc_camera_capture(mcugen_camera_frame_t *frame)
{
    if (!mcugen_cam_started) {
        int status = mcugen_soc_camera_start();
        if (status != 0) {
            return status;
        }
    }
    if (mcugen_cam_dma_stop() != 0) {
        return MCUGEN_CAMERA_ERR_TIMEOUT;
    }
    MCUGEN_DCMI->CR &= ~MCUGEN_DCMI_CR_CAPTURE;

    /* Write back and drop any cached copy first: a dirty line evicted mid-transfer would
     * overwrite what the DMA wrote. */
    mcugen_cam_dcache_by_line(&MCUGEN_M7_CACHE_OPS->DCCIMVAC);

    /* Peripheral to memory, DCMI->DR fixed, memory incrementing, 32-bit both sides
     * (direct mode: no FIFO packing needed), high priority, normal (not circular). */
    mcugen_cam_dma->PAR = (uint32_t)(uintptr_t)&MCUGEN_DCMI->DR;
    mcugen_cam_dma->M0AR = (uint32_t)(uintptr_t)mcugen_camera_frame;
    mcugen_cam_dma->NDTR = MCUGEN_CAMERA_FRAME_BYTES / 4u;
    mcugen_cam_dma->FCR = 0;
    mcugen_cam_dma->CR = MCUGEN_DMA_CR_CHSEL(MCUGEN_CAM_DMA_CHANNEL) | MCUGEN_DMA_CR_PL_HIGH |
                         MCUGEN_DMA_CR_MSIZE_WORD | MCUGEN_DMA_CR_PSIZE_WORD | MCUGEN_DMA_CR_MINC |
                         MCUGEN_DMA_CR_DIR_P2M;
    MCUGEN_DMA2->LIFCR = MCUGEN_DMA_S1_ALL;
    mcugen_cam_dma->CR |= MCUGEN_DMA_CR_EN;

    /* Snapshot: the DCMI waits for the next frame start, captures one frame and clears
     * CAPTURE by itself. */
    MCUGEN_DCMI->ICR = MCUGEN_DCMI_ICR_ALL;
    MCUGEN_DCMI->CR |= MCUGEN_DCMI_CR_CAPTURE;

    uint32_t start = MCUGEN_DWT->CYCCNT;
    uint32_t frame_cycles = mcugen_cam_cycles(MCUGEN_CAM_FRAME_TIMEOUT_MS);
    uint32_t ris;
    for (;;) {
        ris = MCUGEN_DCMI->RIS;
        if (ris & (MCUGEN_DCMI_RIS_FRAME | MCUGEN_DCMI_RIS_OVR | MCUGEN_DCMI_RIS_ERR)) {
            break;
        }
        if (MCUGEN_DMA2->LISR & (MCUGEN_DMA_S1_TEIF | MCUGEN_DMA_S1_DMEIF)) {
            break;
        }
        if (mcugen_cam_expired(start, frame_cycles)) {
            MCUGEN_DCMI->CR &= ~MCUGEN_DCMI_CR_CAPTURE;
            (void)mcugen_cam_dma_stop();
            return MCUGEN_CAMERA_ERR_TIMEOUT; /* no frame: no PCLK/VSYNC (module clock, cable) */
        }
    }

    /* The frame has ended on the DCMI side; the DMA may still be moving its last words. */
    uint32_t drain = MCUGEN_DWT->CYCCNT;
    while (!(MCUGEN_DMA2->LISR & (MCUGEN_DMA_S1_TCIF | MCUGEN_DMA_S1_TEIF | MCUGEN_DMA_S1_DMEIF)) &&
           !mcugen_cam_expired(drain, mcugen_cam_cycles(MCUGEN_CAM_DRAIN_TIMEOUT_MS))) {
    }
    ris = MCUGEN_DCMI->RIS;
    uint32_t left = mcugen_cam_dma->NDTR;
    uint32_t dma_errors = MCUGEN_DMA2->LISR & (MCUGEN_DMA_S1_TEIF | MCUGEN_DMA_S1_DMEIF);
    MCUGEN_DCMI->CR &= ~MCUGEN_DCMI_CR_CAPTURE;
    (void)mcugen_cam_dma_stop();
    MCUGEN_DCMI->ICR = MCUGEN_DCMI_ICR_ALL;

    /* The CPU must not see lines it fetched (or speculated) before the DMA finished. */
    mcugen_cam_dcache_by_line(&MCUGEN_M7_CACHE_OPS->DCIMVAC);

    if (dma_errors) {
        return MCUGEN_CAMERA_ERR_TIMEOUT; /* the transfer failed: no whole frame */
    }
    if (left != 0 || (ris & MCUGEN_DCMI_RIS_OVR)) {
        /* Fewer bytes than width * height * bpp (left != 0), or more (the DMA was done and
         * the DCMI overflowed): the sensor is not sending the size asked for. An overrun
         * with the DMA still short means it could not keep up, reported the same way. */
        return MCUGEN_CAMERA_ERR_FORMAT;
    }
    if (ris & MCUGEN_DCMI_RIS_ERR) {
        return MCUGEN_CAMERA_ERR_FORMAT; /* sync error (only with embedded syncs) */
    }

    frame->data = mcugen_camera_frame;
    frame->bytes = MCUGEN_CAMERA_FRAME_BYTES;
    frame->width = MCUGEN_CAMERA_WIDTH;
    frame->height = MCUGEN_CAMERA_HEIGHT;
    frame->format = MCUGEN_CAMERA_FORMAT;
    return 0;
}

#else
/* No on-board sensor in this configuration (no camera, or a host-fed one): nothing to build. */
typedef int mcugen_camera_ov9655_unused_t;
#endif
