/* mcugen board port for ESP32 boards (ESP-IDF v5, PlatformIO framework = espidf):
 * the whole board API (mcugen_board.h) over ESP-IDF's drivers, and app_main().
 *
 * Link: UART0 through the uart driver (MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG 0), or
 * the ESP32-S3's USB Serial/JTAG port through its driver (1). Either driver keeps an
 * RX ring buffer filled from its interrupt, so bytes that arrive while the model
 * runs wait there instead of overrunning the 128-byte hardware FIFO. The console
 * (ESP_LOG, panic reports) shares the same wire: sdkconfig.defaults keeps the log
 * level at ERROR, and the host's frame parser skips whatever is not a frame.
 *
 * Counter: CCOUNT, the Xtensa core's cycle counter (esp_cpu_get_cycle_count()),
 * extended to 64 bits. CCOUNT counts CPU cycles exactly, but it is 32 bits wide and
 * wraps every 2^32 / 240 MHz = 17.9 s; esp_timer_get_time() (64-bit microseconds)
 * alone would never wrap but resolves only 1 us = 240 cycles, too coarse for short
 * layers. So each call adds the cycles since the previous call, and the timer says
 * how many whole wraps passed in between (exact as long as the two clocks agree to
 * within 2^31 cycles, 8.9 s): cycle-exact deltas, no wrap lost, however rarely it is
 * read. The count is the current core's; app_main's task is pinned to CPU0
 * (CONFIG_ESP_MAIN_TASK_AFFINITY_CPU0) and the clock is fixed (no power management).
 *
 * LEDs: MCUGEN_BOARD_LED_PINS entries with port 'G' are GPIO numbers, driven with
 * gpio_set_level() in the LED's polarity; a pin that cannot be an output (or any
 * other port letter) only keeps its state.
 *
 * Camera (MCUGEN_BOARD_HAS_CAMERA): Espressif's esp32-camera component, one frame
 * buffer (fb_count 1, CAMERA_GRAB_WHEN_EMPTY) in PSRAM or DRAM as the board says.
 * A capture gives the previous frame buffer back to the driver first, so the frame
 * a capture returns stays valid until the next capture and is never older than the
 * capture call that asked for it (with one buffer, the driver only fills it once it
 * is returned).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcugen_app.h"
#include "mcugen_board.h" /* includes mcugen_board_config.h: MCUGEN_ESP32_*, MCUGEN_CAMERA_* */

#include "driver/gpio.h"
#include "esp_cpu.h"
#include "esp_err.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"

#ifndef MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG
#define MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG 0
#endif
#ifndef MCUGEN_ESP32_UART_NUM
#define MCUGEN_ESP32_UART_NUM 0
#endif
#ifndef MCUGEN_BOARD_CAMERA_HOST_FED
#define MCUGEN_BOARD_CAMERA_HOST_FED 0
#endif

#if MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG
#include "driver/usb_serial_jtag.h"
#else
#include "driver/uart.h"
#endif

#if defined(MCUGEN_BOARD_HAS_CAMERA) && MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED
#include "esp_camera.h"
#endif

/* The driver's RX ring buffer: several whole frames of the protocol (1034 bytes each
 * at most), far more than the host ever sends without waiting for a reply. */
#define MCUGEN_ESP32_RX_BUFFER 4096
/* USB Serial/JTAG: how long one write may wait for the host to take bytes before
 * they are dropped (nobody has the port open), as an unplugged UART would lose them. */
#define MCUGEN_ESP32_USJ_WRITE_MS 100u

/* ---- the serial link ---- */

static uint8_t rx_chunk[64];
static size_t rx_len;
static size_t rx_pos;

/* Up to `length` bytes that have arrived; waits for the first one if `block`. */
static int link_read(uint8_t *buf, size_t length, int block)
{
#if MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG
    /* Returns what is buffered, up to length, waiting at most the ticks for a first byte. */
    int n = usb_serial_jtag_read_bytes(buf, (uint32_t)length, block ? portMAX_DELAY : 0);
#else
    /* Waits until all `length` bytes came or the ticks ran out: drain what is there
     * without waiting, and when nothing is, wait for exactly one byte. */
    int n = uart_read_bytes(MCUGEN_ESP32_UART_NUM, buf, (uint32_t)length, 0);
    if (n == 0 && block) {
        n = uart_read_bytes(MCUGEN_ESP32_UART_NUM, buf, 1u, portMAX_DELAY);
    }
#endif
    return n > 0 ? n : 0;
}

static void link_init(void)
{
#if MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG
    usb_serial_jtag_driver_config_t config;
    memset(&config, 0, sizeof config);
    config.rx_buffer_size = MCUGEN_ESP32_RX_BUFFER;
    config.tx_buffer_size = 1024u;
    (void)usb_serial_jtag_driver_install(&config); /* nothing to report to if it fails */
#else
    uart_config_t config;
    memset(&config, 0, sizeof config);
    config.baud_rate = (int)MCUGEN_BOARD_UART_BAUD;
    config.data_bits = UART_DATA_8_BITS;
    config.parity = UART_PARITY_DISABLE;
    config.stop_bits = UART_STOP_BITS_1;
    config.flow_ctrl = UART_HW_FLOWCTRL_DISABLE;
    config.source_clk = UART_SCLK_DEFAULT;
    /* No TX ring buffer: uart_write_bytes returns once the bytes are in the FIFO. */
    (void)uart_driver_install(MCUGEN_ESP32_UART_NUM, MCUGEN_ESP32_RX_BUFFER, 0, 0, NULL, 0);
    (void)uart_param_config(MCUGEN_ESP32_UART_NUM, &config);
#endif
}

uint8_t mcugen_board_read_byte(void)
{
    while (rx_pos >= rx_len) {
        rx_len = (size_t)link_read(rx_chunk, sizeof rx_chunk, 1);
        rx_pos = 0;
    }
    return rx_chunk[rx_pos++];
}

int mcugen_board_poll_byte(uint8_t *byte)
{
    if (rx_pos >= rx_len) {
        rx_len = (size_t)link_read(rx_chunk, sizeof rx_chunk, 0);
        rx_pos = 0;
        if (rx_len == 0) {
            return 0;
        }
    }
    *byte = rx_chunk[rx_pos++];
    return 1;
}

void mcugen_board_write(const uint8_t *data, size_t length)
{
#if MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG
    while (length > 0) {
        int n = usb_serial_jtag_write_bytes(data, length, pdMS_TO_TICKS(MCUGEN_ESP32_USJ_WRITE_MS));
        if (n <= 0) {
            return; /* the host is not reading: the rest is lost */
        }
        data += n;
        length -= (size_t)n;
    }
#else
    while (length > 0) {
        int n = uart_write_bytes(MCUGEN_ESP32_UART_NUM, data, length);
        if (n <= 0) {
            return; /* the driver is not installed: nothing can be sent */
        }
        data += n;
        length -= (size_t)n;
    }
#endif
}

/* ---- the counter: CCOUNT extended to 64 bits (see the top of the file) ---- */

#define MCUGEN_ESP32_CYCLES_PER_US ((uint64_t)(MCUGEN_BOARD_CLOCK_HZ / 1000000u))

static uint64_t counter_total;
static uint32_t counter_last_cycles;
static int64_t counter_last_us;

uint64_t mcugen_board_counter(void)
{
    uint32_t cycles = (uint32_t)esp_cpu_get_cycle_count();
    int64_t us = esp_timer_get_time();
    uint32_t delta = cycles - counter_last_cycles; /* modulo 2^32 */
    uint64_t expected = us > counter_last_us ? (uint64_t)(us - counter_last_us) * MCUGEN_ESP32_CYCLES_PER_US : 0u;
    if (expected > delta) {
        /* whole wraps in between: the nearest k with delta + k * 2^32 ~ expected */
        counter_total += ((expected - delta + 0x80000000u) >> 32) << 32;
    }
    counter_total += delta;
    counter_last_cycles = cycles;
    counter_last_us = us;
    return counter_total;
}

/* ---- LEDs ---- */

static uint32_t led_bits;

#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
static const mcugen_led_pin_t led_pins[MCUGEN_BOARD_LED_COUNT] = MCUGEN_BOARD_LED_PINS;

static int led_is_gpio(const mcugen_led_pin_t *led)
{
    return led->port == 'G' && GPIO_IS_VALID_OUTPUT_GPIO((int)led->pin);
}

static void led_drive(unsigned index, int on)
{
    const mcugen_led_pin_t *led = &led_pins[index];
    if (led_is_gpio(led)) {
        uint32_t high = ((on != 0) != (led->active_low != 0)) ? 1u : 0u;
        (void)gpio_set_level((gpio_num_t)led->pin, high);
    }
}
#endif

static void leds_init(void)
{
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    for (unsigned i = 0; i < MCUGEN_BOARD_LED_COUNT; ++i) {
        const mcugen_led_pin_t *led = &led_pins[i];
        if (!led_is_gpio(led)) {
            continue;
        }
        (void)gpio_reset_pin((gpio_num_t)led->pin);
        led_drive(i, 0); /* the off level before the output is enabled: no flash at start-up */
        (void)gpio_set_direction((gpio_num_t)led->pin, GPIO_MODE_OUTPUT);
    }
#endif
    led_bits = 0;
}

void mcugen_board_led_set(unsigned index, int on)
{
    if (index >= 32u) {
        return;
    }
#if defined(MCUGEN_BOARD_LED_COUNT) && MCUGEN_BOARD_LED_COUNT > 0
    if (index < MCUGEN_BOARD_LED_COUNT) {
        led_drive(index, on);
    }
#endif
    led_bits = on ? (led_bits | (1u << index)) : (led_bits & ~(1u << index));
}

uint32_t mcugen_board_led_state(void)
{
    return led_bits;
}

/* ---- camera ---- */

#if defined(MCUGEN_BOARD_HAS_CAMERA) && MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED

/* esp32-camera's frame sizes (sensor.h), by their width and height. */
static const struct {
    uint16_t width;
    uint16_t height;
    framesize_t size;
} camera_sizes[] = {
    {96, 96, FRAMESIZE_96X96},     {160, 120, FRAMESIZE_QQVGA},   {128, 128, FRAMESIZE_128X128},
    {176, 144, FRAMESIZE_QCIF},    {240, 176, FRAMESIZE_HQVGA},   {240, 240, FRAMESIZE_240X240},
    {320, 240, FRAMESIZE_QVGA},    {320, 320, FRAMESIZE_320X320}, {400, 296, FRAMESIZE_CIF},
    {480, 320, FRAMESIZE_HVGA},    {640, 480, FRAMESIZE_VGA},     {800, 600, FRAMESIZE_SVGA},
    {1024, 768, FRAMESIZE_XGA},    {1280, 720, FRAMESIZE_HD},     {1280, 1024, FRAMESIZE_SXGA},
    {1600, 1200, FRAMESIZE_UXGA},
};

static int camera_started;
static camera_fb_t *camera_held; /* the frame the last capture returned, still ours */

static int camera_frame_size(framesize_t *size)
{
    for (size_t i = 0; i < sizeof camera_sizes / sizeof camera_sizes[0]; ++i) {
        if (camera_sizes[i].width == MCUGEN_CAMERA_WIDTH && camera_sizes[i].height == MCUGEN_CAMERA_HEIGHT) {
            *size = camera_sizes[i].size;
            return 1;
        }
    }
    return 0;
}

/* MCUGEN_PIXEL_* -> esp32-camera's format and bytes per pixel; 0 if it has none.
 * esp32-camera's RGB565 is big-endian bytes and its YUV422 is Y0 U Y1 V, as mcugen's. */
static unsigned camera_pixel_format(unsigned format, pixformat_t *out)
{
    switch (format) {
    case MCUGEN_PIXEL_GRAY8:
        *out = PIXFORMAT_GRAYSCALE;
        return 1u;
    case MCUGEN_PIXEL_RGB565:
        *out = PIXFORMAT_RGB565;
        return 2u;
    case MCUGEN_PIXEL_YUV422:
        *out = PIXFORMAT_YUV422;
        return 2u;
    default:
        return 0u; /* RGB888, host-fed tensors: not what an OV2640 gives through esp32-camera */
    }
}

static int camera_error(esp_err_t err)
{
    switch (err) {
    case ESP_ERR_CAMERA_FAILED_TO_SET_FRAME_SIZE:
    case ESP_ERR_CAMERA_FAILED_TO_SET_OUT_FORMAT:
    case ESP_ERR_CAMERA_NOT_SUPPORTED:
    case ESP_ERR_NO_MEM: /* no room for the frame buffer (PSRAM off or too small) */
        return MCUGEN_CAMERA_ERR_FORMAT;
    default: /* ESP_ERR_CAMERA_NOT_DETECTED, SCCB and I2C failures */
        return MCUGEN_CAMERA_ERR_NO_SENSOR;
    }
}

int mcugen_board_camera_start(void)
{
    framesize_t size;
    pixformat_t format;
    if (camera_started) {
        return 0; /* esp_camera_init may be called only once */
    }
    if (!camera_frame_size(&size) || camera_pixel_format(MCUGEN_CAMERA_FORMAT, &format) == 0u) {
        return MCUGEN_CAMERA_ERR_FORMAT;
    }
    camera_config_t config;
    memset(&config, 0, sizeof config);
    config.pin_pwdn = MCUGEN_CAMERA_PIN_PWDN;
    config.pin_reset = MCUGEN_CAMERA_PIN_RESET;
    config.pin_xclk = MCUGEN_CAMERA_PIN_XCLK;
    config.pin_sccb_sda = MCUGEN_CAMERA_PIN_SIOD;
    config.pin_sccb_scl = MCUGEN_CAMERA_PIN_SIOC;
    config.pin_d7 = MCUGEN_CAMERA_PIN_D7;
    config.pin_d6 = MCUGEN_CAMERA_PIN_D6;
    config.pin_d5 = MCUGEN_CAMERA_PIN_D5;
    config.pin_d4 = MCUGEN_CAMERA_PIN_D4;
    config.pin_d3 = MCUGEN_CAMERA_PIN_D3;
    config.pin_d2 = MCUGEN_CAMERA_PIN_D2;
    config.pin_d1 = MCUGEN_CAMERA_PIN_D1;
    config.pin_d0 = MCUGEN_CAMERA_PIN_D0;
    config.pin_vsync = MCUGEN_CAMERA_PIN_VSYNC;
    config.pin_href = MCUGEN_CAMERA_PIN_HREF;
    config.pin_pclk = MCUGEN_CAMERA_PIN_PCLK;
    config.xclk_freq_hz = MCUGEN_CAMERA_XCLK_HZ;
    config.ledc_timer = LEDC_TIMER_0;
    config.ledc_channel = LEDC_CHANNEL_0;
    config.pixel_format = format;
    config.frame_size = size;
    config.jpeg_quality = 12; /* JPEG only; unused */
    config.fb_count = 1;
    config.fb_location = MCUGEN_CAMERA_FB_IN_PSRAM ? CAMERA_FB_IN_PSRAM : CAMERA_FB_IN_DRAM;
    config.grab_mode = CAMERA_GRAB_WHEN_EMPTY;
    config.sccb_i2c_port = 0; /* used only when pin_sccb_sda is -1 */
    esp_err_t err = esp_camera_init(&config);
    if (err != ESP_OK) {
        return camera_error(err);
    }
    camera_started = 1;
    return 0;
}

int mcugen_board_camera_capture(mcugen_camera_frame_t *frame)
{
    pixformat_t format = PIXFORMAT_GRAYSCALE;
    unsigned bpp = camera_pixel_format(MCUGEN_CAMERA_FORMAT, &format);
    if (!camera_started) {
        int err = mcugen_board_camera_start();
        if (err != 0) {
            return err;
        }
    }
    if (camera_held != NULL) {
        esp_camera_fb_return(camera_held); /* the previous frame: the driver may fill it again */
        camera_held = NULL;
    }
    camera_fb_t *fb = esp_camera_fb_get();
    if (fb == NULL) {
        return MCUGEN_CAMERA_ERR_TIMEOUT;
    }
    /* The driver may have clamped the size to the sensor's maximum; refuse any frame
     * that is not exactly what was configured rather than describe it wrongly. */
    if (fb->format != format || fb->width != MCUGEN_CAMERA_WIDTH || fb->height != MCUGEN_CAMERA_HEIGHT ||
        fb->len != (size_t)MCUGEN_CAMERA_WIDTH * MCUGEN_CAMERA_HEIGHT * bpp) {
        esp_camera_fb_return(fb);
        return MCUGEN_CAMERA_ERR_FORMAT;
    }
    camera_held = fb;
    frame->data = fb->buf;
    frame->bytes = (uint32_t)fb->len;
    frame->width = (uint16_t)fb->width;
    frame->height = (uint16_t)fb->height;
    frame->format = (uint8_t)MCUGEN_CAMERA_FORMAT;
    return 0;
}

#endif /* camera */

/* ---- bring-up and the entry point ---- */

void mcugen_board_init(void)
{
    /* ESP-IDF's startup already set the clocks (CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240),
     * caches, PSRAM and heap before app_main. */
    link_init();
    leds_init();
    counter_last_cycles = (uint32_t)esp_cpu_get_cycle_count();
    counter_last_us = esp_timer_get_time();
    counter_total = 0;
}

/* ESP-IDF calls app_main from its main task once the system is up. */
void app_main(void)
{
    mcugen_app_run();
}
