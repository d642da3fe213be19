/* Host stub of ESP-IDF v5's driver/gpio.h: the calls mcugen's ESP32 port makes.
 * Levels and modes are recorded for the test (esp32_stub.h). The output-capable
 * pins follow the chip: ESP32 (GPIO 34..39 input only, no 20, 24, 28..31) or, with
 * ESP32_STUB_TARGET_ESP32S3, the ESP32-S3 (GPIO 0..21 and 26..48). */
#ifndef ESP32_STUB_DRIVER_GPIO_H
#define ESP32_STUB_DRIVER_GPIO_H

#include <stdint.h>

#include "esp_err.h"

typedef int gpio_num_t; /* an enum of GPIO_NUM_0.. in ESP-IDF; any GPIO number converts */
#define GPIO_NUM_NC (-1)

#if ESP32_STUB_TARGET_ESP32S3
#define GPIO_NUM_MAX 49
#define ESP32_STUB_OUTPUT_MASK (0x1FFFFFC3FFFFFULL) /* 0..21, 26..48 */
#else
#define GPIO_NUM_MAX 40
#define ESP32_STUB_OUTPUT_MASK (0x30EEFFFFFULL) /* 0..33 but 20, 24, 28..31 */
#endif

#define GPIO_IS_VALID_GPIO(gpio_num) ((gpio_num) >= 0 && (gpio_num) < GPIO_NUM_MAX)
#define GPIO_IS_VALID_OUTPUT_GPIO(gpio_num) \
    (GPIO_IS_VALID_GPIO(gpio_num) && ((ESP32_STUB_OUTPUT_MASK >> (gpio_num)) & 1ULL) != 0)

typedef enum {
    GPIO_MODE_DISABLE = 0,
    GPIO_MODE_INPUT = 1,
    GPIO_MODE_OUTPUT = 2,
    GPIO_MODE_OUTPUT_OD = 6,
    GPIO_MODE_INPUT_OUTPUT_OD = 7,
    GPIO_MODE_INPUT_OUTPUT = 3,
} gpio_mode_t;

esp_err_t gpio_reset_pin(gpio_num_t gpio_num);
esp_err_t gpio_set_direction(gpio_num_t gpio_num, gpio_mode_t mode);
esp_err_t gpio_set_level(gpio_num_t gpio_num, uint32_t level);

#endif /* ESP32_STUB_DRIVER_GPIO_H */
