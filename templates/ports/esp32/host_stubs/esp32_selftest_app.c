/* A test application for the ESP32 board layer on the host stubs (not for
 * boards): it calls the board API directly and prints what the stubs recorded,
 * one "key value" line each, on stdout, then exits. tests/test_esp32_host.py reads
 * the lines. Run it with --stdio and nothing on stdin.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp32_stub.h"
#include "mcugen_app.h"
#include "mcugen_board.h"

static void line(const char *key, long long value)
{
    printf("%s %lld\n", key, value);
}

static void leds(void)
{
#if MCUGEN_BOARD_LED_COUNT > 0
    static const mcugen_led_pin_t pins[MCUGEN_BOARD_LED_COUNT] = MCUGEN_BOARD_LED_PINS;
    char key[64];
    for (unsigned i = 0; i < MCUGEN_BOARD_LED_COUNT; ++i) {
        int pin = pins[i].pin;
        snprintf(key, sizeof key, "led%u.pin", i);
        line(key, pin);
        snprintf(key, sizeof key, "led%u.mode_after_init", i);
        line(key, esp32_stub_gpio_mode(pin));
        snprintf(key, sizeof key, "led%u.level_after_init", i);
        line(key, esp32_stub_gpio_level(pin));
        mcugen_board_led_set(i, 1);
        snprintf(key, sizeof key, "led%u.level_on", i);
        line(key, esp32_stub_gpio_level(pin));
        snprintf(key, sizeof key, "led%u.state_on", i);
        line(key, (long long)mcugen_board_led_state());
        mcugen_board_led_set(i, 0);
        snprintf(key, sizeof key, "led%u.level_off", i);
        line(key, esp32_stub_gpio_level(pin));
        snprintf(key, sizeof key, "led%u.state_off", i);
        line(key, (long long)mcugen_board_led_state());
    }
#endif
    mcugen_board_led_set(MCUGEN_BOARD_LED_COUNT, 1); /* no such LED: state only */
    line("led.extra_state", (long long)mcugen_board_led_state());
    mcugen_board_led_set(MCUGEN_BOARD_LED_COUNT, 0);
    mcugen_board_led_set(40u, 1); /* beyond the 32 state bits: ignored */
    line("led.beyond_state", (long long)mcugen_board_led_state());
    line("gpio.invalid_calls", esp32_stub_gpio_invalid_calls());
}

static void camera(void)
{
#if MCUGEN_BOARD_HAS_CAMERA
    mcugen_camera_frame_t frame;
    memset(&frame, 0, sizeof frame);
    line("camera.start", mcugen_board_camera_start());
    line("camera.start_again", mcugen_board_camera_start());
    line("camera.inits", esp32_stub_camera_inits());
    const camera_config_t *c = esp32_stub_camera_config();
    if (c != NULL) {
        line("camera.pin_pwdn", c->pin_pwdn);
        line("camera.pin_reset", c->pin_reset);
        line("camera.pin_xclk", c->pin_xclk);
        line("camera.pin_sccb_sda", c->pin_sccb_sda);
        line("camera.pin_sccb_scl", c->pin_sccb_scl);
        line("camera.pin_d0", c->pin_d0);
        line("camera.pin_d1", c->pin_d1);
        line("camera.pin_d2", c->pin_d2);
        line("camera.pin_d3", c->pin_d3);
        line("camera.pin_d4", c->pin_d4);
        line("camera.pin_d5", c->pin_d5);
        line("camera.pin_d6", c->pin_d6);
        line("camera.pin_d7", c->pin_d7);
        line("camera.pin_vsync", c->pin_vsync);
        line("camera.pin_href", c->pin_href);
        line("camera.pin_pclk", c->pin_pclk);
        line("camera.xclk_freq_hz", c->xclk_freq_hz);
        line("camera.pixel_format", c->pixel_format);
        line("camera.frame_size", c->frame_size);
        line("camera.fb_count", (long long)c->fb_count);
        line("camera.fb_location", c->fb_location);
        line("camera.grab_mode", c->grab_mode);
    }
    for (int i = 0; i < 3; ++i) {
        char key[64];
        int rc = mcugen_board_camera_capture(&frame);
        snprintf(key, sizeof key, "capture%d.rc", i);
        line(key, rc);
        if (rc != 0) {
            continue;
        }
        size_t served = 0;
        const uint8_t *bytes = esp32_stub_camera_frame(&served);
        snprintf(key, sizeof key, "capture%d.width", i);
        line(key, frame.width);
        snprintf(key, sizeof key, "capture%d.height", i);
        line(key, frame.height);
        snprintf(key, sizeof key, "capture%d.format", i);
        line(key, frame.format);
        snprintf(key, sizeof key, "capture%d.bytes", i);
        line(key, frame.bytes);
        snprintf(key, sizeof key, "capture%d.same_as_served", i);
        line(key, bytes != NULL && served == frame.bytes && memcmp(bytes, frame.data, served) == 0);
        snprintf(key, sizeof key, "capture%d.first_byte", i);
        line(key, frame.bytes ? frame.data[0] : -1);
    }
    line("camera.gets", esp32_stub_camera_gets());
    line("camera.returns", esp32_stub_camera_returns());
    line("camera.violations", esp32_stub_camera_violations());
#endif
}

static void counter(void)
{
    uint64_t a = mcugen_board_counter();
    uint64_t b = mcugen_board_counter();
    esp32_stub_advance_us(20000000); /* 20 s: over one CCOUNT wrap at 240 MHz */
    uint64_t c = mcugen_board_counter();
    esp32_stub_advance_us(45000000); /* 45 s more: two wraps and a half */
    uint64_t d = mcugen_board_counter();
    line("counter.monotonic", b >= a && c >= b && d >= c);
    line("counter.delta_20s", (long long)(c - b));
    line("counter.delta_45s", (long long)(d - c));
}

void mcugen_app_run(void)
{
    mcugen_board_init();
    line("uart.port", esp32_stub_uart_port());
    line("uart.rx_buffer", esp32_stub_uart_rx_buffer());
    line("uart.baud", esp32_stub_uart_baud());
    line("usj.installed", esp32_stub_usb_serial_jtag_installed());
    leds();
    camera();
    counter();
    printf("done 1\n");
    fflush(stdout);
    exit(0);
}
