/* OpenMV Cam H7 camera: an OmniVision OV7725 on the DCMI, configured over SCCB
 * (I2C1), one frame at a time by DMA into AXI SRAM.
 *
 *   XCLK    12 MHz from TIM1_CH1 PWM on PA8 (AF1); the sensor needs it for SCCB too
 *   RESET   PA10, POWER-DOWN PD7: plain outputs, polarity found by probing
 *   SCCB    I2C1, SCL PB8 / SDA PB9 (AF4, open drain), standard mode, address 0x42
 *   DCMI    D0..D7 PC6 PC7 PE0 PE1 PE4 PB6 PE5 PE6, HSYNC PA4, VSYNC PB7, PIXCLK PA6 (AF13)
 *   DMA     DMA2 stream 1, request DCMI (75) through DMAMUX1 channel 9, 32-bit words
 *
 * The frame the sensor sends: its QVGA timing (320 x 240 read out of the 640 x 480
 * array) scaled down by its DSP to an output size with the same 4:3 aspect that
 * covers MCUGEN_CAMERA_WIDTH x MCUGEN_CAMERA_HEIGHT (160 x 120 for QQVGA); the DCMI
 * crops the centre when the wanted size is not 4:3 (96 x 96 from 128 x 96).
 *
 * Byte order in memory: the DCMI packs bytes into DR in arrival order (first byte
 * in bits 7:0) and the DMA stores words little-endian, so memory holds the bytes in
 * the order the sensor sent them; nothing is swapped in software.
 *   YUV422: the sensor is set to send Y0 U Y1 V (COM3 "swap Y/UV" on).
 *   RGB565: the sensor's own order, high byte first (RRRRRGGG GGGBBBBB), COM3's
 *           MSB/LSB swap off: the big-endian bytes mcugen_board.h asks for.
 *   GRAY8:  YUV422 as above, and the DCMI keeps every other byte, starting with the
 *           first: the Y samples.
 *
 * Sources: OmniVision OV7725 datasheet (register semantics: COM2..COM10, CLKRC,
 * HSTART/HSIZE/VSTART/VSIZE/HREF, HOUTSIZE/VOUTSIZE/EXHCH, DSP_CTRL1..4, SCAL0..2,
 * DSPAUTO); RM0433 sections "Digital camera interface (DCMI)", "DMA controller",
 * "DMAMUX", "I2C", "TIM1/TIM8"; OpenMV's OPENMV4 board (pins, XCLK, polarities;
 * see /work/shared/notes/board-facts.md). Register values are this port's own.
 */
#include "mcugen_board.h"
#include "mcugen_cortexm.h"
#include "mcugen_port.h"
#include "mcugen_soc.h"

#if defined(MCUGEN_BOARD_HAS_CAMERA) && MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED

#if MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_GRAY8
#define MCUGEN_OV7725_BYTES_PER_PIXEL 1u
#elif MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_YUV422 || MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_RGB565
#define MCUGEN_OV7725_BYTES_PER_PIXEL 2u
#else
#define MCUGEN_OV7725_BYTES_PER_PIXEL 0u /* RGB888 and others: refused by mcugen_soc_camera_start */
#endif

#if MCUGEN_OV7725_BYTES_PER_PIXEL
_Static_assert(MCUGEN_CAMERA_FRAME_BYTES == MCUGEN_CAMERA_WIDTH * MCUGEN_CAMERA_HEIGHT * MCUGEN_OV7725_BYTES_PER_PIXEL,
               "MCUGEN_CAMERA_FRAME_BYTES does not match width x height x bytes per pixel");
#endif
/* One DMA transfer of 32-bit words carries the frame: NDTR counts at most 65535 items. */
_Static_assert(MCUGEN_CAMERA_FRAME_BYTES % 4u == 0u, "the DMA moves whole 32-bit words: frame bytes must be a multiple of 4");
_Static_assert(MCUGEN_CAMERA_FRAME_BYTES / 4u <= 65535u, "frame too large for one DMA transfer (NDTR is 16 bits)");

/* The frame buffer. The linker script puts .mcugen_frame in AXI SRAM: DMA2 reaches
 * it, the DTCM it could not. Rounded up to whole 32-byte cache lines so that cache
 * maintenance over it never touches a neighbour's data. */
#define MCUGEN_OV7725_BUFFER_BYTES ((MCUGEN_CAMERA_FRAME_BYTES + MCUGEN_H7_DCACHE_LINE - 1u) & ~(MCUGEN_H7_DCACHE_LINE - 1u))
static uint8_t mcugen_camera_frame[MCUGEN_OV7725_BUFFER_BYTES] __attribute__((section(".mcugen_frame"), aligned(32)));

#define MCUGEN_OV7725_XCLK_HZ 12000000u
#define MCUGEN_OV7725_SCCB_ADDRESS 0x42u /* 8-bit form: 0x21 << 1; SADD[7:1] holds the 7-bit address */
#define MCUGEN_OV7725_PID_VALUE 0x77u

/* Sensor window (QVGA timing) and the largest output the DSP can scale down from it. */
#define MCUGEN_OV7725_QVGA_WIDTH 320u
#define MCUGEN_OV7725_QVGA_HEIGHT 240u

/* Timeouts. */
#define MCUGEN_OV7725_SCCB_TIMEOUT_US 10000u /* a 3-byte transfer takes ~0.3 ms at 100 kHz */
#define MCUGEN_OV7725_FRAME_TIMEOUT_US 1000000u /* snapshot waits for the next frame start: < 2 frames */
#define MCUGEN_OV7725_FRAME_ATTEMPTS 3u      /* overrun or DMA error: try the next frame */

/* OV7725 registers this driver writes (datasheet names). */
enum {
    MCUGEN_OV7725_PID = 0x0A,
    MCUGEN_OV7725_COM3 = 0x0C,
    MCUGEN_OV7725_COM4 = 0x0D,
    MCUGEN_OV7725_CLKRC = 0x11,
    MCUGEN_OV7725_COM7 = 0x12,
    MCUGEN_OV7725_COM8 = 0x13,
    MCUGEN_OV7725_COM9 = 0x14,
    MCUGEN_OV7725_COM10 = 0x15,
    MCUGEN_OV7725_HSTART = 0x17,
    MCUGEN_OV7725_HSIZE = 0x18,
    MCUGEN_OV7725_VSTART = 0x19,
    MCUGEN_OV7725_VSIZE = 0x1A,
    MCUGEN_OV7725_HOUTSIZE = 0x29,
    MCUGEN_OV7725_EXHCH = 0x2A,
    MCUGEN_OV7725_VOUTSIZE = 0x2C,
    MCUGEN_OV7725_HREF = 0x32,
    MCUGEN_OV7725_DSP_CTRL1 = 0x64,
    MCUGEN_OV7725_DSP_CTRL2 = 0x65,
    MCUGEN_OV7725_DSP_CTRL3 = 0x66,
    MCUGEN_OV7725_DSP_CTRL4 = 0x67,
    MCUGEN_OV7725_SCAL0 = 0xA0,
    MCUGEN_OV7725_SCAL1 = 0xA1,
    MCUGEN_OV7725_SCAL2 = 0xA2,
    MCUGEN_OV7725_DSPAUTO = 0xAC,
};

#define MCUGEN_OV7725_COM7_RESET 0x80u     /* all registers to their defaults */
#define MCUGEN_OV7725_COM7_QVGA 0x40u      /* QVGA timing (0 = VGA) */
#define MCUGEN_OV7725_COM7_RGB565 0x04u    /* RGB format bits [3:2] = 01 */
#define MCUGEN_OV7725_COM7_OUT_YUV 0x00u   /* output format bits [1:0] = 00 */
#define MCUGEN_OV7725_COM7_OUT_RGB 0x02u   /* = 10 */
#define MCUGEN_OV7725_COM3_SWAP_YUV 0x10u  /* YUV: Y first (Y U Y V) */

typedef struct {
    uint8_t reg;
    uint8_t value;
} mcugen_ov7725_reg_t;

/* Written after the soft reset and COM7 (format and QVGA timing, which must come
 * first: COM7's resolution bit reloads the window registers). */
static const mcugen_ov7725_reg_t mcugen_ov7725_setup[] = {
    /* Clock: PLL x4 (COM4[7:6] = 01, full AEC window), CLKRC divider (1 + 1) * 2:
     * 12 MHz XCLK -> 12 MHz internal clock, PIXCLK at most 12 MHz (the DCMI takes up
     * to 80 MHz, so there is plenty of margin), about 30 QVGA frames a second. */
    {MCUGEN_OV7725_COM4, 0x41u},
    {MCUGEN_OV7725_CLKRC, 0x01u},
    /* Sensor window for QVGA timing: HSIZE 0x50 * 4 = 320 columns from HSTART,
     * VSIZE 0x78 * 2 = 240 rows from VSTART; HREF holds their low bits (0). */
    {MCUGEN_OV7725_HSTART, 0x3Fu},
    {MCUGEN_OV7725_HSIZE, 0x50u},
    {MCUGEN_OV7725_VSTART, 0x03u},
    {MCUGEN_OV7725_VSIZE, 0x78u},
    {MCUGEN_OV7725_HREF, 0x00u},
    /* DSP: every stage on (DSP_CTRL1: FIFO, UV adjust, YUV444 -> 422, colour matrix,
     * interpolation, gamma, black/white pixel correction); down-sampling and zoom
     * enabled in both directions (DSP_CTRL2); U before V, no test bar (DSP_CTRL3);
     * processed YUV/RGB output, not raw (DSP_CTRL4). */
    {MCUGEN_OV7725_DSP_CTRL1, 0xFFu},
    {MCUGEN_OV7725_DSP_CTRL2, 0x0Fu},
    {MCUGEN_OV7725_DSP_CTRL3, 0x00u},
    {MCUGEN_OV7725_DSP_CTRL4, 0x00u},
    /* Scaling: DSPAUTO lets the DSP derive the down-sampling (SCAL0) and zoom
     * (SCAL1/2) factors from the output size, besides automatic AWB, de-noise,
     * edge and UV thresholds. The manual values (1/2 down-sampling, zoom 1:1) are
     * what it should pick for QQVGA, written in case it only adjusts the zoom. */
    {MCUGEN_OV7725_SCAL0, 0x05u},
    {MCUGEN_OV7725_SCAL1, 0x40u},
    {MCUGEN_OV7725_SCAL2, 0x40u},
    {MCUGEN_OV7725_DSPAUTO, 0xFFu},
    /* Exposure: fast AGC/AEC, unlimited AEC step, banding filter off (no
     * 50/60 Hz tuning here), fine AEC, automatic gain, white balance and exposure;
     * gain ceiling 16x (COM9[6:4] = 011). */
    {MCUGEN_OV7725_COM8, 0xCFu},
    {MCUGEN_OV7725_COM9, 0x30u},
    /* Sync: VSYNC high during vertical blanking, HREF high while a line's data is
     * valid, PIXCLK not inverted and free-running (COM10 = 0, the default). The
     * DCMI below expects exactly this. Gamma curve and colour matrix stay at the
     * sensor's reset values. */
    {MCUGEN_OV7725_COM10, 0x00u},
};

static int mcugen_camera_ready;
static uint32_t mcugen_camera_crop_x; /* pixels cut from the left of each line */
static uint32_t mcugen_camera_crop_y; /* lines cut from the top */
static uint32_t mcugen_camera_crop_on;

/* ---- SCCB over I2C1 ---- */

static int mcugen_ov7725_i2c_wait(uint32_t mask)
{
    for (uint32_t left = MCUGEN_OV7725_SCCB_TIMEOUT_US; left; left--) {
        uint32_t isr = MCUGEN_H7_I2C1->ISR;
        if (isr & mask) {
            return (int)(isr & mask);
        }
        if (isr & (MCUGEN_I2C_ISR_BERR | MCUGEN_I2C_ISR_ARLO)) {
            return 0;
        }
        mcugen_h7_delay_us(1u);
    }
    return 0;
}

/* After a bus error or a timeout: PE low resets the I2C state machine (and must
 * stay low for three APB cycles, which the read-back gives). */
static void mcugen_ov7725_i2c_recover(void)
{
    MCUGEN_H7_I2C1->CR1 &= ~MCUGEN_I2C_CR1_PE;
    (void)MCUGEN_H7_I2C1->CR1;
    (void)MCUGEN_H7_I2C1->CR1;
    (void)MCUGEN_H7_I2C1->CR1;
    MCUGEN_H7_I2C1->ICR = MCUGEN_I2C_ICR_ALL;
    MCUGEN_H7_I2C1->CR1 |= MCUGEN_I2C_CR1_PE;
}

/* One transfer of `count` bytes (1 or 2) in direction `read`, START to STOP
 * (AUTOEND). 0 on success, -1 on NACK, timeout or bus error. */
static int mcugen_ov7725_i2c_transfer(int read, uint8_t *bytes, uint32_t count)
{
    mcugen_h7_i2c_t *i2c = MCUGEN_H7_I2C1;
    for (uint32_t left = MCUGEN_OV7725_SCCB_TIMEOUT_US; left && (i2c->ISR & MCUGEN_I2C_ISR_BUSY); left--) {
        mcugen_h7_delay_us(1u);
    }
    if (i2c->ISR & MCUGEN_I2C_ISR_BUSY) {
        mcugen_ov7725_i2c_recover();
        return -1;
    }
    i2c->ICR = MCUGEN_I2C_ICR_ALL;
    i2c->CR2 = MCUGEN_OV7725_SCCB_ADDRESS | (read ? MCUGEN_I2C_CR2_RD_WRN : 0u) | (count << MCUGEN_I2C_CR2_NBYTES_SHIFT) |
               MCUGEN_I2C_CR2_AUTOEND | MCUGEN_I2C_CR2_START;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ready = read ? MCUGEN_I2C_ISR_RXNE : MCUGEN_I2C_ISR_TXIS;
        int flags = mcugen_ov7725_i2c_wait(ready | MCUGEN_I2C_ISR_NACKF);
        if (!flags) {
            mcugen_ov7725_i2c_recover();
            return -1;
        }
        if ((uint32_t)flags & MCUGEN_I2C_ISR_NACKF) {
            /* No acknowledge: the hardware sends STOP by itself; wait for it, drop
             * anything left in TXDR (writing TXE flushes it). */
            (void)mcugen_ov7725_i2c_wait(MCUGEN_I2C_ISR_STOPF);
            i2c->ICR = MCUGEN_I2C_ICR_ALL;
            i2c->ISR = MCUGEN_I2C_ISR_TXE;
            return -1;
        }
        if (read) {
            bytes[i] = (uint8_t)i2c->RXDR;
        } else {
            i2c->TXDR = bytes[i];
        }
    }
    if (!mcugen_ov7725_i2c_wait(MCUGEN_I2C_ISR_STOPF)) {
        mcugen_ov7725_i2c_recover();
        return -1;
    }
    i2c->ICR = MCUGEN_I2C_ICR_ALL;
    return 0;
}

static int mcugen_ov7725_write(uint8_t reg, uint8_t value)
{
    uint8_t bytes[2] = {reg, value};
    return mcugen_ov7725_i2c_transfer(0, bytes, 2u);
}

/* SCCB has no repeated START: the register address goes in its own write
 * transfer, ended by STOP, then a separate read transfer. */
static int mcugen_ov7725_read(uint8_t reg, uint8_t *value)
{
    if (mcugen_ov7725_i2c_transfer(0, &reg, 1u) != 0) {
        return -1;
    }
    return mcugen_ov7725_i2c_transfer(1, value, 1u);
}

static void mcugen_ov7725_i2c_init(void)
{
    /* Kernel clock rcc_pclk1 (I2C123SEL = 0, the reset value). */
    MCUGEN_H7_RCC->D2CCIP2R &= ~MCUGEN_RCC_D2CCIP2R_I2C123SEL_MASK;
    MCUGEN_H7_RCC->APB1LENR |= MCUGEN_RCC_APB1LENR_I2C1EN;
    (void)MCUGEN_H7_RCC->APB1LENR;

    /* PB8 SCL, PB9 SDA: alternate function 4, open drain, pulled up (the sensor
     * module has its own pull-ups too; the internal ones only help). */
    for (uint32_t pin = 8u; pin <= 9u; pin++) {
        mcugen_h7_gpio_t *gpio = MCUGEN_H7_GPIO(MCUGEN_H7_PORT_B);
        mcugen_h7_gpio_config(MCUGEN_H7_PORT_B, pin, 2u, 4u, 1u);
        gpio->OTYPER |= 1u << pin;
        gpio->PUPDR = (gpio->PUPDR & ~(3u << (pin * 2u))) | (1u << (pin * 2u));
    }

    /* Standard mode, ~100 kHz (RM0433 "I2C timings"): prescale the kernel clock to
     * a tick of about 100 ns, then SCL low 5.0 us, SCL high 4.0 us (above the
     * 4.7 / 4.0 us minimums), data hold 2 ticks, data setup 4 ticks (>= 250 ns). */
    uint32_t kernel = mcugen_h7_pclk1_hz();
    uint32_t presc = (kernel + 9999999u) / 10000000u; /* ticks of at least 100 ns */
    presc = presc == 0u ? 0u : presc - 1u;
    if (presc > 15u) {
        presc = 15u;
    }
    uint32_t ticks_per_us = kernel / (presc + 1u) / 1000000u;
    if (ticks_per_us == 0u) {
        ticks_per_us = 1u;
    }
    uint32_t scll = 5u * ticks_per_us - 1u;
    uint32_t sclh = 4u * ticks_per_us - 1u;
    scll = scll > 255u ? 255u : scll;
    sclh = sclh > 255u ? 255u : sclh;

    MCUGEN_H7_I2C1->CR1 = 0u; /* PE = 0: TIMINGR is writable only now */
    MCUGEN_H7_I2C1->TIMINGR = (presc << 28) | (4u << 20) | (2u << 16) | (sclh << 8) | scll;
    MCUGEN_H7_I2C1->CR1 = MCUGEN_I2C_CR1_PE;
}

/* ---- XCLK: TIM1 channel 1 PWM on PA8 ---- */

static void mcugen_ov7725_xclk_start(void)
{
    mcugen_h7_tim_t *tim = MCUGEN_H7_TIM1;
    MCUGEN_H7_RCC->APB2ENR |= MCUGEN_RCC_APB2ENR_TIM1EN;
    (void)MCUGEN_H7_RCC->APB2ENR;

    /* 240 MHz timer clock / 20 = 12 MHz, 50 % duty. Rounded to the nearest period
     * when the clock tree fell back to HSI (the OV7725 takes 10..48 MHz). */
    uint32_t period = (mcugen_h7_tim_apb2_hz() + MCUGEN_OV7725_XCLK_HZ / 2u) / MCUGEN_OV7725_XCLK_HZ;
    if (period < 2u) {
        period = 2u;
    }
    tim->CR1 = 0u;
    tim->PSC = 0u;
    tim->ARR = period - 1u;
    tim->CCR1 = period / 2u;
    tim->CCMR1 = (tim->CCMR1 & ~0xFFu) | MCUGEN_TIM_CCMR1_OC1M_PWM1 | MCUGEN_TIM_CCMR1_OC1PE;
    tim->CCER = MCUGEN_TIM_CCER_CC1E;
    tim->BDTR = MCUGEN_TIM_BDTR_MOE; /* the main output enable of an advanced timer */
    tim->EGR = MCUGEN_TIM_EGR_UG;    /* load PSC, ARR and CCR1 now */
    tim->CR1 = MCUGEN_TIM_CR1_ARPE | MCUGEN_TIM_CR1_CEN;

    mcugen_h7_gpio_config(MCUGEN_H7_PORT_A, 8u, 2u, 1u, 2u);
}

/* ---- sensor power, reset and probing ---- */

#define MCUGEN_OV7725_RESET_PORT MCUGEN_H7_PORT_A
#define MCUGEN_OV7725_RESET_PIN 10u
#define MCUGEN_OV7725_PWDN_PORT MCUGEN_H7_PORT_D
#define MCUGEN_OV7725_PWDN_PIN 7u

static void mcugen_ov7725_pin(uint32_t port, uint32_t pin, int high)
{
    MCUGEN_H7_GPIO(port)->BSRR = high ? (1u << pin) : (1u << (pin + 16u));
}

/* The board's RESET and POWER-DOWN polarities are not documented (OpenMV probes
 * them too): try each combination of "running" levels, pulsing reset, until the
 * sensor acknowledges a read of its product id. The datasheet's (reset active
 * high, power-down active high, so both low to run) comes first. */
static int mcugen_ov7725_power_up(uint8_t *pid)
{
    static const struct {
        uint8_t pwdn_run;  /* power-down pin level while the sensor runs */
        uint8_t reset_run; /* reset pin level while the sensor runs */
    } levels[4] = {{0u, 0u}, {0u, 1u}, {1u, 0u}, {1u, 1u}};

    mcugen_h7_gpio_config(MCUGEN_OV7725_RESET_PORT, MCUGEN_OV7725_RESET_PIN, 1u, 0u, 0u);
    mcugen_h7_gpio_config(MCUGEN_OV7725_PWDN_PORT, MCUGEN_OV7725_PWDN_PIN, 1u, 0u, 0u);
    for (unsigned i = 0; i < 4u; i++) {
        mcugen_ov7725_pin(MCUGEN_OV7725_PWDN_PORT, MCUGEN_OV7725_PWDN_PIN, levels[i].pwdn_run);
        mcugen_ov7725_pin(MCUGEN_OV7725_RESET_PORT, MCUGEN_OV7725_RESET_PIN, !levels[i].reset_run);
        mcugen_h7_delay_us(10000u);
        mcugen_ov7725_pin(MCUGEN_OV7725_RESET_PORT, MCUGEN_OV7725_RESET_PIN, levels[i].reset_run);
        mcugen_h7_delay_us(10000u);
        if (mcugen_ov7725_read(MCUGEN_OV7725_PID, pid) == 0) {
            return 0;
        }
    }
    return -1;
}

/* ---- DCMI pins and setup ---- */

static void mcugen_ov7725_dcmi_pins(void)
{
    static const struct {
        uint8_t port;
        uint8_t pin;
    } pins[11] = {
        {MCUGEN_H7_PORT_C, 6u}, {MCUGEN_H7_PORT_C, 7u}, {MCUGEN_H7_PORT_E, 0u}, {MCUGEN_H7_PORT_E, 1u}, /* D0..D3 */
        {MCUGEN_H7_PORT_E, 4u}, {MCUGEN_H7_PORT_B, 6u}, {MCUGEN_H7_PORT_E, 5u}, {MCUGEN_H7_PORT_E, 6u}, /* D4..D7 */
        {MCUGEN_H7_PORT_A, 4u}, /* HSYNC (the sensor's HREF) */
        {MCUGEN_H7_PORT_B, 7u}, /* VSYNC */
        {MCUGEN_H7_PORT_A, 6u}, /* PIXCLK */
    };
    for (unsigned i = 0; i < 11u; i++) {
        mcugen_h7_gpio_config(pins[i].port, pins[i].pin, 2u, 13u, 2u);
    }
}

/* The sensor output size for a wanted size: 4:3 like the sensor window, covering
 * it, at most QVGA. */
static void mcugen_ov7725_output_size(uint32_t *width, uint32_t *height)
{
    uint32_t w = MCUGEN_CAMERA_WIDTH;
    uint32_t h = MCUGEN_CAMERA_HEIGHT;
    if (w * 3u >= h * 4u) {
        h = (w * 3u + 3u) / 4u; /* wider than 4:3: full width, taller output */
    } else {
        w = (h * 4u + 2u) / 3u; /* narrower: full height, wider output */
    }
    w = (w + 1u) & ~1u; /* whole YUV pairs (U and V alternate per pixel pair) */
    *width = w;
    *height = h;
}

int mcugen_soc_camera_start(void)
{
    uint32_t out_w, out_h;
    uint8_t pid = 0;

    mcugen_camera_ready = 0;
    if (MCUGEN_OV7725_BYTES_PER_PIXEL == 0u || MCUGEN_CAMERA_WIDTH == 0u || MCUGEN_CAMERA_HEIGHT == 0u) {
        return MCUGEN_CAMERA_ERR_FORMAT;
    }
    mcugen_ov7725_output_size(&out_w, &out_h);
    if (out_w > MCUGEN_OV7725_QVGA_WIDTH || out_h > MCUGEN_OV7725_QVGA_HEIGHT) {
        return MCUGEN_CAMERA_ERR_FORMAT; /* VGA output would need VGA timing: not done here */
    }
    if (MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_YUV422 && (MCUGEN_CAMERA_WIDTH & 1u)) {
        return MCUGEN_CAMERA_ERR_FORMAT; /* YUV422 comes in pixel pairs (Y U, Y V) */
    }
    /* Even, so that a cropped YUV422 line still starts with Y U. */
    mcugen_camera_crop_x = ((out_w - MCUGEN_CAMERA_WIDTH) / 2u) & ~1u;
    mcugen_camera_crop_y = (out_h - MCUGEN_CAMERA_HEIGHT) / 2u;
    mcugen_camera_crop_on = out_w != MCUGEN_CAMERA_WIDTH || out_h != MCUGEN_CAMERA_HEIGHT;

    /* Clock first: the sensor's SCCB runs on XCLK. */
    mcugen_ov7725_xclk_start();
    mcugen_ov7725_i2c_init();
    if (mcugen_ov7725_power_up(&pid) != 0 || pid != MCUGEN_OV7725_PID_VALUE) {
        return MCUGEN_CAMERA_ERR_NO_SENSOR;
    }

    /* Soft reset to the datasheet defaults, then settle (1 ms is the datasheet's
     * minimum after a reset). */
    if (mcugen_ov7725_write(MCUGEN_OV7725_COM7, MCUGEN_OV7725_COM7_RESET) != 0) {
        return MCUGEN_CAMERA_ERR_NO_SENSOR;
    }
    mcugen_h7_delay_us(5000u);

    uint8_t com7 = MCUGEN_OV7725_COM7_QVGA;
    uint8_t com3 = MCUGEN_OV7725_COM3_SWAP_YUV;
    if (MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_RGB565) {
        com7 |= MCUGEN_OV7725_COM7_RGB565 | MCUGEN_OV7725_COM7_OUT_RGB;
        com3 = 0u; /* no B/R swap, no MSB/LSB swap: high byte first */
    } else {
        com7 |= MCUGEN_OV7725_COM7_OUT_YUV;
    }
    int status = mcugen_ov7725_write(MCUGEN_OV7725_COM7, com7);
    for (unsigned i = 0; status == 0 && i < sizeof mcugen_ov7725_setup / sizeof mcugen_ov7725_setup[0]; i++) {
        status = mcugen_ov7725_write(mcugen_ov7725_setup[i].reg, mcugen_ov7725_setup[i].value);
    }
    /* Output size: HOUTSIZE holds width / 4, VOUTSIZE height / 2, EXHCH the rest
     * (bits [1:0] width, bit [2] height). Byte order last. */
    if (status == 0) {
        status = mcugen_ov7725_write(MCUGEN_OV7725_HOUTSIZE, (uint8_t)(out_w >> 2));
    }
    if (status == 0) {
        status = mcugen_ov7725_write(MCUGEN_OV7725_VOUTSIZE, (uint8_t)(out_h >> 1));
    }
    if (status == 0) {
        status = mcugen_ov7725_write(MCUGEN_OV7725_EXHCH, (uint8_t)((out_w & 3u) | ((out_h & 1u) << 2)));
    }
    if (status == 0) {
        status = mcugen_ov7725_write(MCUGEN_OV7725_COM3, com3);
    }
    if (status != 0) {
        return MCUGEN_CAMERA_ERR_NO_SENSOR;
    }

    /* DCMI and DMA clocks, DCMI pins. */
    MCUGEN_H7_RCC->AHB2ENR |= MCUGEN_RCC_AHB2ENR_DCMIEN;
    MCUGEN_H7_RCC->AHB1ENR |= MCUGEN_RCC_AHB1ENR_DMA2EN;
    (void)MCUGEN_H7_RCC->AHB1ENR;
    mcugen_ov7725_dcmi_pins();

    /* DMA2 stream 1 takes the DCMI's requests (DMAMUX1 channel 8 + 1). */
    MCUGEN_H7_DMAMUX1->CCR[MCUGEN_DMAMUX1_CHANNEL_DMA2(1u)] = MCUGEN_DMAMUX1_REQ_DCMI;

    mcugen_camera_ready = 1;
    return 0;
}

/* Arms the DMA and the DCMI for one frame. */
static void mcugen_ov7725_arm(void)
{
    mcugen_h7_dma_stream_t *stream = &MCUGEN_H7_DMA2->S[1];
    mcugen_h7_dcmi_t *dcmi = MCUGEN_H7_DCMI;

    dcmi->CR = 0u; /* ENABLE = 0: the configuration bits are written only now */
    stream->CR &= ~MCUGEN_DMA_CR_EN;
    for (uint32_t left = 1000u; left && (stream->CR & MCUGEN_DMA_CR_EN); left--) {
        mcugen_h7_delay_us(1u); /* a stream finishes its current beat before it stops */
    }
    MCUGEN_H7_DMA2->LIFCR = MCUGEN_DMA_S1_ALL;

    /* No dirty line of the buffer may be written back over the DMA's data later:
     * clean and invalidate it before the transfer (and invalidate after it). */
    mcugen_h7_dcache_clean_invalidate(mcugen_camera_frame, MCUGEN_OV7725_BUFFER_BYTES);

    /* Peripheral to memory, 32-bit on both sides, memory address incrementing,
     * direct mode (the DCMI's own 8-word FIFO absorbs bus latency: one word per
     * four PIXCLKs, at most 3 M words a second), high priority. */
    stream->PAR = (uint32_t)(uintptr_t)&dcmi->DR;
    stream->M0AR = (uint32_t)(uintptr_t)mcugen_camera_frame;
    stream->NDTR = MCUGEN_CAMERA_FRAME_BYTES / 4u;
    stream->FCR = 0u;
    stream->CR = MCUGEN_DMA_CR_DIR_P2M | MCUGEN_DMA_CR_MINC | MCUGEN_DMA_CR_PSIZE_32 | MCUGEN_DMA_CR_MSIZE_32 |
                 MCUGEN_DMA_CR_PL_HIGH;
    stream->CR |= MCUGEN_DMA_CR_EN;

    /* Crop window (in PIXCLKs: bytes, two per pixel even for GRAY8, whose byte
     * selection follows the crop): CWSTRT VST[28:16] lines, HOFFCNT[13:0] clocks;
     * CWSIZE VLINE[29:16] lines - 1, CAPCNT[13:0] clocks - 1. */
    uint32_t cr = MCUGEN_DCMI_CR_CM_SNAPSHOT | MCUGEN_DCMI_CR_EDM_8BIT | MCUGEN_DCMI_CR_PCKPOL_RISING |
                  MCUGEN_DCMI_CR_VSPOL_HIGH; /* HSPOL 0: HREF is low while data is not valid */
    if (mcugen_camera_crop_on) {
        dcmi->CWSTRT = (mcugen_camera_crop_y << 16) | (mcugen_camera_crop_x * 2u);
        dcmi->CWSIZE = ((MCUGEN_CAMERA_HEIGHT - 1u) << 16) | (MCUGEN_CAMERA_WIDTH * 2u - 1u);
        cr |= MCUGEN_DCMI_CR_CROP;
    }
    if (MCUGEN_CAMERA_FORMAT == MCUGEN_PIXEL_GRAY8) {
        cr |= MCUGEN_DCMI_CR_BSM_EVERY_OTHER; /* Y of Y U Y V */
    }
    dcmi->ICR = MCUGEN_DCMI_ICR_ALL;
    dcmi->CR = cr;
    dcmi->CR = cr | MCUGEN_DCMI_CR_ENABLE;
    dcmi->CR = cr | MCUGEN_DCMI_CR_ENABLE | MCUGEN_DCMI_CR_CAPTURE; /* snapshot: starts at the next frame */
}

int mcugen_soc_camera_capture(mcugen_camera_frame_t *frame)
{
    if (!mcugen_camera_ready) {
        int status = mcugen_soc_camera_start();
        if (status != 0) {
            return status;
        }
    }
    for (unsigned attempt = 0; attempt < MCUGEN_OV7725_FRAME_ATTEMPTS; attempt++) {
        mcugen_ov7725_arm();
        int good = 0, bad = 0, short_frame = 0;
        for (uint32_t left = MCUGEN_OV7725_FRAME_TIMEOUT_US / 10u; left && !good && !bad; left--) {
            uint32_t dma = MCUGEN_H7_DMA2->LISR;
            uint32_t ris = MCUGEN_H7_DCMI->RIS;
            if (dma & (MCUGEN_DMA_S1_TEIF | MCUGEN_DMA_S1_DMEIF | MCUGEN_DMA_S1_FEIF) ||
                ris & (MCUGEN_DCMI_RIS_OVR | MCUGEN_DCMI_RIS_ERR)) {
                bad = 1; /* data lost on the way: this frame is not whole */
            } else if ((dma & MCUGEN_DMA_S1_TCIF) && (ris & MCUGEN_DCMI_RIS_FRAME)) {
                good = 1;
            } else if (ris & MCUGEN_DCMI_RIS_FRAME) {
                /* The frame has ended: give the DMA a moment to store the last words. */
                mcugen_h7_delay_us(100u);
                if (!(MCUGEN_H7_DMA2->LISR & MCUGEN_DMA_S1_TCIF)) {
                    short_frame = 1; /* fewer bytes than MCUGEN_CAMERA_FRAME_BYTES */
                    break;
                }
            } else {
                mcugen_h7_delay_us(10u);
            }
        }
        MCUGEN_H7_DCMI->CR &= ~(MCUGEN_DCMI_CR_CAPTURE | MCUGEN_DCMI_CR_ENABLE);
        MCUGEN_H7_DMA2->S[1].CR &= ~MCUGEN_DMA_CR_EN;
        if (short_frame) {
            return MCUGEN_CAMERA_ERR_FORMAT; /* the sensor's frame is not the size asked for */
        }
        if (!good && !bad) {
            return MCUGEN_CAMERA_ERR_TIMEOUT; /* no frame at all: retrying would wait as long again */
        }
        if (good) {
            /* Lines the core fetched (speculatively, too) while the DMA wrote are
             * stale: drop them so reads come from memory. */
            mcugen_h7_dcache_invalidate(mcugen_camera_frame, MCUGEN_OV7725_BUFFER_BYTES);
            frame->data = mcugen_camera_frame;
            frame->bytes = MCUGEN_CAMERA_FRAME_BYTES;
            frame->width = (uint16_t)MCUGEN_CAMERA_WIDTH;
            frame->height = (uint16_t)MCUGEN_CAMERA_HEIGHT;
            frame->format = (uint8_t)MCUGEN_CAMERA_FORMAT;
            return 0;
        }
    }
    return MCUGEN_CAMERA_ERR_TIMEOUT;
}

#endif /* camera on the board */
