/* What the host stubs of ESP-IDF and esp32-camera record, for tests (not an
 * ESP-IDF API). See esp32_stub.c for the program these stubs make: main() takes
 * the link from the command line and calls app_main(), as ESP-IDF's startup does.
 *
 * Environment:
 *   MCUGEN_ESP32_STUB_FRAME=path     every camera frame is this file's bytes (else a
 *                                    test pattern that changes with each frame)
 *   MCUGEN_ESP32_STUB_CAMERA=absent  esp_camera_init answers ESP_ERR_CAMERA_NOT_DETECTED
 *   MCUGEN_ESP32_STUB_CAMERA=timeout esp_camera_fb_get answers NULL (no frame in time)
 *   MCUGEN_ESP32_STUB_CCOUNT_START=N the cycle counter's value at start (to test wraps)
 */
#ifndef ESP32_STUB_H
#define ESP32_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "esp_camera.h"

#ifndef ESP32_STUB_CPU_MHZ
#define ESP32_STUB_CPU_MHZ 240u
#endif

/* GPIO: the last level written (-1: never) and mode set (-1: never, or reset). */
int esp32_stub_gpio_level(int pin);
int esp32_stub_gpio_mode(int pin);
unsigned esp32_stub_gpio_invalid_calls(void); /* calls with a pin that cannot be an output */

/* Link: which UART the driver was installed on (-1: none) and with what. */
int esp32_stub_uart_port(void);
int esp32_stub_uart_rx_buffer(void);
int esp32_stub_uart_baud(void);
int esp32_stub_usb_serial_jtag_installed(void);

/* Time: moves the cycle counter and esp_timer forward without waiting. */
void esp32_stub_advance_us(int64_t us);

/* Camera: the configuration esp_camera_init got (NULL: not called), how often the
 * frame buffer was taken and returned, and how often it was asked for while the only
 * buffer was still out (a real driver would wait 4 s and answer NULL). */
const camera_config_t *esp32_stub_camera_config(void);
unsigned esp32_stub_camera_inits(void);
unsigned esp32_stub_camera_gets(void);
unsigned esp32_stub_camera_returns(void);
unsigned esp32_stub_camera_violations(void);
/* The bytes of the frame the last esp_camera_fb_get served (NULL before the first). */
const uint8_t *esp32_stub_camera_frame(size_t *length);

#endif /* ESP32_STUB_H */
